"""Question understanding on the kinds of messages patients really send."""

from __future__ import annotations

import pytest

from bot.understanding import Intent

TOPICS = [
    ("what foods have magnesium", "foods"),
    ("wat fods hav magnisium", "foods"),
    ("mg in almonds?", "foods"),
    ("is 400 mg too much", "doses"),
    ("safe dose?", "doses"),
    ("IS 400MG TOO MUCH", "doses"),
    ("can I take it with my antibiotics", "interactions"),
    ("magnesium + my cipro ok?", "interactions"),
    ("can i take magnesium with amoxicillin", "interactions"),
    ("my legs crawl every night, why?", "symptoms"),
    ("citrate or glycinate", "forms"),
    ("magnesium gave me diarrhoea", "magnesium-side-effects"),
    ("how do i know if ive taken too much magnesium", "overdose"),
]


@pytest.mark.parametrize(("message", "topic"), TOPICS)
def test_questions_reach_their_topic(responder, message, topic):
    found = responder.classifier.classify(message)
    assert (found.intent, found.topic) == (Intent.topic, topic)


def test_question_inside_a_long_story(responder):
    story = (
        "Hi, I'm 58 and retired. For about two years, every evening when I sit down to watch TV "
        "I get this awful creepy crawly feeling in my calves and have to get up and walk around. "
        "My neighbour swears by magnesium. Does magnesium actually help restless legs or not?"
    )
    found = responder.classifier.classify(story)
    assert found.topic == "magnesium-rls"


def test_a_story_whose_question_points_back_is_answered_from_what_it_points_to(responder):
    # the asking sentence alone ("is that why...") is about RLS in general; the story is about iron
    story = "ferritin came back at 9, doctor said shockingly low. is that why my legs have been so bad?"
    assert responder.classifier.classify(story).topic == "iron"


def test_a_question_that_names_nothing_of_rls_but_fits_one_topic_surely_is_answered(responder):
    message = "14 hour flight next month and I'm dreading it, last time I nearly lost my mind in the window seat. tips?"
    found = responder.classifier.classify(message)
    assert (found.intent, found.topic) == (Intent.topic, "sitting-travel")


def test_hopelessness_said_over_two_short_sentences_gets_the_crisis_reply(responder):
    found = responder.classifier.classify("cant do another night like this. im done")
    assert (found.intent, found.rule) == (Intent.emergency, "self-harm")


@pytest.mark.parametrize(
    "message",
    [
        "lentil soup recipe",
        "my toddler is restless at bedtime",
        "side effects of statins",
        "foods high in protein",
        "magnesium for migraines",
        "how much coffee is too much",
        "iron man movie times",
        "what is the atomic number of magnesium",
    ],
)
def test_word_overlap_traps_are_declined(responder, message):
    assert responder.classifier.classify(message).intent is Intent.out_of_scope


@pytest.mark.parametrize(
    ("message", "rule"),
    [
        ("can't catch my breath after doubling my magnesium", "breathing-chest-heart"),
        ("hard to breathe", "breathing-chest-heart"),
        ("my chest hurts", "breathing-chest-heart"),
        ("I want to end it all", "self-harm"),
        ("i dont see any reason to live anymore", "self-harm"),
        ("i think i od'd on my magnesium pills", "overdose"),
        ("took the whole bottle of magnesium", "overdose"),
        ("my face is drooping", "stroke"),
        ("one leg is swollen and hot", "blood-clot"),
    ],
)
def test_danger_messages_get_urgent_care_first(responder, message, rule):
    found = responder.classifier.classify(message)
    assert (found.intent, found.rule) == (Intent.emergency, rule)
    reply = responder.answer(message)
    assert "emergency number" in reply.text and reply.buttons == ()


@pytest.mark.parametrize(
    "message",
    [
        "can magnesium cause an irregular heartbeat?",  # a question about overdose signs, not a report
        "no chest pain, just crawling legs at night",
        "what are the signs of magnesium overdose",
    ],
)
def test_questions_about_danger_signs_are_answered_not_escalated(responder, message):
    assert responder.classifier.classify(message).intent is Intent.topic


def test_self_harm_reply_gives_a_crisis_line(responder):
    reply = responder.answer("i want to die")
    assert "988" in reply.text and "findahelpline.com" in reply.text


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("hi", "greeting"),
        ("thanks so much, that helps!", "thanks"),
        ("who are you?", "about-bot"),
        ("👍", "thanks"),
        ("bye", "goodbye"),
        ("Good morning. Who am I speaking to please?", "about-bot"),  # a greeting before the question
        ("Hello, are you a real person or a computer?", "about-bot"),
        ("Merhaba, who is this bot? what you can do for me?", "about-bot"),  # small talk sentence by sentence
        ("hello po good evening", "greeting"),
        ("Guten Morgen!", "greeting"),  # matched as written: the speller would make "guten" "gluten"
        ("Bonjour, what can you do for me?", "about-bot"),
        ("namaste ji", "greeting"),
        ("Hi. Who are you? Bye.", "about-bot"),  # one-word sentences are small talk too
        ("Thanks for explaining how much magnesium is safe, very helpful", "thanks"),  # says what helped
        ("Merhaba, how are you today?", "greeting"),
        ("good evening! just found you through a friend", "greeting"),
        ("what sort of stuff can you actually help me with?", "about-bot"),
        ("Спасибо большое!", "thanks"),  # before the "I only read English" reply
        ("привет", "greeting"),
        ("you a doctor?", "about-bot"),  # "doctor" is a topic's word too, but this speaks to the bot
        ("are you a doctor or a bot", "about-bot"),
        ("hiya, am i talking to a real person or a bot?", "about-bot"),  # read as if "hiya" were not there
        ("hello there how are you", "greeting"),  # every word a stop word or filler
        ("hello? is this thing on", "about-bot"),
        # longer ways of asking about the bot, matched by smalltalk.yaml's signals
        ("are you a real person or a computer my grandson set you up for me on my phone", "about-bot"),
        ("Hi, district nurse here - is this run by clinicians or is it an automated bot?", "about-bot"),
        ("Which sources do you draw on? NICE CKS, AASM, something else?", "about-bot"),
        ("Can you answer questions about other stuff too or only restless legs?", "about-bot"),
        ("lol are you just chatgpt in a trenchcoat", "about-bot"),
        ("ur more use than my doctor lol", "feedback"),
        ("you are funny bot, do you have legs too? 😄", "feedback"),
        ("mornin all!", "greeting"),
        ("ok off to bed, night night", "goodbye"),
    ],
)
def test_smalltalk(responder, message, kind):
    found = responder.classifier.classify(message)
    assert (found.intent, found.rule) == (Intent.smalltalk, kind)


@pytest.mark.parametrize(
    ("message", "topic"),
    [
        ("are you a doctor? what dose of magnesium is safe for rls", "doses"),
        ("what can you do about leg cramps at night", "cramps"),
        ("are you a real person? my legs crawl every night, why?", "symptoms"),
    ],
)
def test_a_question_to_the_bot_that_also_asks_about_rls_gets_its_answer(responder, message, topic):
    found = responder.classifier.classify(message)
    assert (found.intent, found.topic) == (Intent.topic, topic)


@pytest.mark.parametrize(
    "message",
    [
        "Do you know any clean jokes for our bridge club newsletter?",
        "someone's hacked my bank account, there are payments going out I didn't make, what do I do",
        "Can you translate my CV to good English? I apply for job in Ireland",
    ],
)
def test_off_topic_requests_that_mention_you_are_still_declined(responder, message):
    assert responder.classifier.classify(message).intent is Intent.out_of_scope


@pytest.mark.parametrize(
    "message",
    [  # words of the feedback and privacy signals in questions that are neither
        "what's your best tip for sweet cravings",
        "should I record my symptoms and my questions",
        "who should I see about these leg symptoms",
    ],
)
def test_questions_that_share_words_with_small_talk_are_not_small_talk(responder, message):
    assert responder.classifier.classify(message).intent is not Intent.smalltalk


@pytest.mark.parametrize(
    ("message", "kind"),
    [  # no phrase or signal lists these: the chat model learnt them from training/chat
        ("is this free or will you send me a bill", "about-bot"),
        ("what is your name", "about-bot"),
        ("how old are you?", "about-bot"),
        ("you are slow today", "feedback"),
        # over a topic the ranker is sure of: bed, sleep and legs are words of a goodbye too
        ("ok night night, off to attempt sleep", "goodbye"),
        ("what sort of things am I allowed to ask you", "about-bot"),
        ("do you speak Portuguese? my English is not perfect", "about-bot"),
    ],
)
def test_small_talk_in_words_no_list_holds_is_recognised(responder, message, kind):
    found = responder.classifier.classify(message)
    assert (found.intent, found.rule) == (Intent.smalltalk, kind)


@pytest.mark.parametrize("message", ["set my phone alarm for 6am for work", "can you book me a GP appointment"])
def test_requests_the_bot_cannot_do_are_declined_not_taken_for_chat(responder, message):
    assert responder.classifier.classify(message).intent is Intent.out_of_scope


@pytest.mark.parametrize(
    "message",
    [
        "who reads these messages? is it private?",
        "do you keep what I write here?",
        "Please delete everything you have stored about me.",
    ],
)
def test_a_privacy_question_gets_what_is_kept_and_the_privacy_commands(responder, message):
    reply = responder.answer(message)
    assert reply.intent is Intent.smalltalk
    assert "don't save your messages" in reply.text and "/privacy" in reply.text and "/forget" in reply.text


def test_a_remark_about_the_bot_gets_a_thank_you_and_a_few_topics(responder):
    reply = responder.answer("lol ur funny")
    assert reply.intent is Intent.smalltalk and "Thanks for chatting" in reply.text and reply.buttons


def test_greeting_with_a_question_answers_the_question(responder):
    assert responder.classifier.classify("hi! what foods have magnesium?").topic == "foods"


@pytest.mark.parametrize(
    "message",
    [
        "remind me to stretch at 9pm",
        "no more reminders please",
        "turn off the nightly ping",
        "Please remember me every evening at 21:00 to take warm bath for the legs",  # non-native English
        "Can you make alarm for me for stretching the legs before sleep, at 22h?",
        "Please make alarm every evening 8.30 to put heating pad on legs",
        "change bath one to 8:30",
        "actually make it half 9",  # changing the time just asked for
        "Could you move the evening non-drug tips to 21:30? I'm on lates all this week",
    ],
)
def test_reminder_requests(responder, message):
    assert responder.classifier.classify(message).intent is Intent.reminders


@pytest.mark.parametrize(
    "message",
    [
        "restless mind at night, cant stop thinking about work. tips?",
        "how do I turn off email notifications",
        "my legs wake me at 3am every night like an alarm clock",
        "do you remember me? I asked about iron last night",
        "Hi, remember me? the legs are bad again tonight",
        "I set an alarm to wake up and my legs were jumping, what helps?",
        "should I set an alarm to take iron on an empty stomach?",
        "my alarm goes off at 6 and I can't make it through the day, legs kept me up all night",
        "remember me at my best, I can't do these nights anymore",  # may be a goodbye: never a settings reply
        "should i make it 400 mg instead",
        "actually, should I make it 3 tablets?",
        "should I hold them before my operation?",
        "can I skip them if my legs are fine?",
        "the doctor said growing pains but she just NEEDS to move them at night, could it actually be RLS?",
    ],
)
def test_words_reminders_share_with_other_requests_do_not_make_a_reminder_request(responder, message):
    assert responder.classifier.classify(message).intent is not Intent.reminders


@pytest.mark.parametrize("message", ["", "   ", "\u200b\u200f", "🤷‍♀️🦵", "?!?!"])
def test_empty_or_symbol_only_messages_get_a_polite_nudge(responder, message):
    reply = responder.answer(message)
    assert reply.intent is Intent.out_of_scope and "didn't catch" in reply.text


def test_html_and_injection_text_is_just_text(responder):
    reply = responder.answer("<script>alert(1)</script>'; DROP TABLE users; --")
    assert reply.intent is Intent.out_of_scope


@pytest.mark.parametrize(
    "message",
    [
        "¿Cómo hago una tortilla de espinacas sin que se me rompa?",
        "Wie wird das Wetter am Wochenende in München?",
        "不宁腿综合征会遗传给孩子吗？",
        "Estou grávida de 6 meses e minhas pernas não param à noite. O que posso fazer?",
    ],
)
def test_a_message_in_another_language_is_told_the_bot_reads_english_only(responder, message):
    reply = responder.answer(message)
    assert reply.intent is Intent.out_of_scope and "only read English" in reply.text


def test_english_with_typos_is_not_taken_for_another_language(responder):
    reply = responder.answer("wat fods hav magnisium")
    assert reply.intent is Intent.topic and reply.topic == "foods"


def test_danger_in_another_language_still_gets_urgent_care(responder):
    assert responder.answer("ya no quiero seguir viviendo así, llevo meses sin dormir").intent is Intent.emergency


def test_a_plainly_unrelated_message_after_a_question_is_not_read_as_its_follow_up(responder):
    from datetime import UTC, datetime

    from bot.understanding.classifier import remember

    now = datetime(2026, 1, 1, tzinfo=UTC)
    first = "what foods have magnesium"
    context = remember(responder.classifier.classify(first, None, now), first, now, None)
    for unrelated in ("what is the capital of australia", "lentil soup recipe"):
        assert responder.classifier.classify(unrelated, context, now).intent is Intent.out_of_scope
    assert responder.classifier.classify("and for kids?", context, now).intent is Intent.topic  # still a follow-up


def _after(responder, first: str, then: str):
    from datetime import UTC, datetime, timedelta

    from bot.understanding.classifier import remember

    now = datetime(2026, 1, 1, tzinfo=UTC)
    context = remember(responder.classifier.classify(first, None, now), first, now, None)
    return responder.classifier.classify(then, context, now + timedelta(seconds=30))


@pytest.mark.parametrize("message", ["你好，我想自杀", "привет помогите", "مرحبا ساعدني"])
def test_a_greeting_in_another_script_then_more_of_it_is_not_small_talk(responder, message):
    """Chinese has no spaces: what follows the greeting is one token, but a whole sentence; the
    other-language reply carries the emergency line."""
    reply = responder.answer(message)
    assert reply.intent is Intent.out_of_scope and "emergency" in reply.text


def test_a_short_question_is_read_with_the_context_unless_it_is_clear_alone(responder):
    got = _after(responder, "is an iron drip better than tablets for rls", "any side effects?")
    assert (got.topic, got.follow_up) == ("iron-infusion", True)  # alone: magnesium's side effects
    assert _after(responder, "what foods have magnesium", "does coffee make rls worse").topic == "caffeine-alcohol"


def test_a_message_in_another_language_after_a_question_is_told_so_not_answered_from_it(responder):
    got = _after(responder, "does a hot bath help my legs at night", "Wie wird das Wetter am Wochenende in München?")
    assert (got.intent, got.rule) == (Intent.out_of_scope, "other-language")


@pytest.mark.parametrize("then", ["Wie wird das Wetter am Wochenende in München?", "xyzzy plugh"])
def test_after_a_danger_message_even_a_message_the_models_cannot_read_gets_its_advice(responder, then):
    got = _after(responder, "i took 30 of my pramipexole an hour ago", then)
    assert got.intent is Intent.emergency and got.rule == "overdose"


def test_a_new_subject_after_a_question_is_declined_however_the_joined_reading_ranks_it(responder):
    for unrelated in ("period cramps killing me what helps", "how to iron a shirt w/o an iron lol"):
        assert _after(responder, "which magnesium is best for rls", unrelated).intent is Intent.out_of_scope
    for leaning in ("what about my friend?", "and for my friend?"):  # not small talk: "friend" is no filler
        assert _after(responder, "which magnesium is best for rls", leaning).intent is Intent.topic
    got = _after(responder, "which magnesium is best for rls", "what do i do about it")  # all leaning words
    assert got.intent is Intent.topic and got.follow_up


def test_the_model_cache_key_follows_the_speller_vocabulary():
    from bot.understanding.linear import Hyper, fingerprint
    from bot.understanding.text import Speller

    before, after = Speller(["magnesium"], {}), Speller(["magnesium", "lighter"], {})  # a new signal word
    assert before.signature != after.signature
    keys = {fingerprint("safety", ["hi"], ["x"], Hyper(), s.signature) for s in (before, after)}
    assert len(keys) == 2  # else a model trained under the old vocabulary would be loaded


def _unit(*leading: float):
    import numpy as np

    from bot.understanding.features import EMBEDDING_DIM

    vector = np.zeros(EMBEDDING_DIM)
    vector[: len(leading)] = leading
    return vector


def test_the_nearest_written_examples_vote_on_scope_and_a_near_copy_outvotes_loose_relatives(tmp_path):
    from bot.understanding.neighbours import Neighbours

    out = [_unit(1.0, 0.1 * i) for i in range(5)]  # five loose relatives, all out of scope
    near = [_unit(0.0, 0.0, 1.0)]  # one in-scope example
    found = Neighbours.of(out + near + [_unit(-1.0)] * 3, [False] * 5 + [True] + [False] * 3)
    assert found.share_inside(_unit(1.0)) == 0.0
    assert found.share_inside(_unit(0.2, 0.0, 1.0)) > 0.5  # one near copy outvotes four loose relatives
    path = tmp_path / "neighbours.npz"
    found.save(path)
    again = Neighbours.load(path)
    assert again.share_inside(_unit(0.2, 0.0, 1.0)) == found.share_inside(_unit(0.2, 0.0, 1.0))


def test_the_shortlist_by_leading_dimensions_finds_a_near_copy_as_reading_them_all_would():
    import numpy as np

    from bot.understanding import neighbours
    from bot.understanding.neighbours import Neighbours

    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(3000, 256)) * np.linspace(3.0, 0.2, 256)  # leading dimensions carry most
    inside = rng.random(3000) < 0.5
    found = Neighbours.of(list(vectors), list(inside))
    queries = vectors[:50] + rng.normal(size=(50, 256)) * 0.05  # near copies of stored messages
    short = [found.share_inside(q) for q in queries]
    everything = Neighbours(found.vectors, found.inside)
    original = neighbours.SHORTLIST
    neighbours.SHORTLIST = len(inside)  # no shortlist: every vector is read
    try:
        full = [everything.share_inside(q) for q in queries]
    finally:
        neighbours.SHORTLIST = original
    assert [v >= 0.5 for v in short] == [v >= 0.5 for v in full]  # the near copy's side wins either way


@pytest.mark.parametrize("damage", [b"not a numpy file", b"", b"PK\x03\x04 cut short"])
def test_a_damaged_neighbours_cache_is_rebuilt_not_fatal(tmp_path, caplog, damage):
    from types import SimpleNamespace

    import numpy as np

    from bot.understanding.datasets import IN, OUT, Sample
    from bot.understanding.models import _neighbours

    samples = [Sample(f"message {i}", IN if i % 2 else OUT, "x.tsv") for i in range(8)]

    def features(texts):
        return [SimpleNamespace(dense=_unit(1.0, float(t[-1]))) for t in texts]

    from bot.understanding.cache import cached

    first = cached(*_neighbours(samples, features, tmp_path)[1])
    (stored,) = tmp_path.glob("neighbours-*.npz")
    stored.write_bytes(damage)
    again = cached(*_neighbours(samples, features, tmp_path)[1])
    assert "unreadable" in caplog.text
    assert np.array_equal(again.inside, first.inside) and np.allclose(again.vectors, first.vectors)


def test_processes_starting_together_build_a_cached_model_once(tmp_path):
    """The second waits for the first's file instead of training beside it (two test workers or
    two bot processes on two cores each took twice as long)."""
    import threading

    pytest.importorskip("fcntl")  # elsewhere each process builds its own, as before

    from bot.understanding.cache import cached

    class Built:
        def __init__(self, by: str) -> None:
            self.by = by

        def save(self, path):
            path.write_text(self.by)

    path = tmp_path / "model.npz"
    second_built = threading.Event()
    results: dict[str, str] = {}

    def second_build() -> Built:
        second_built.set()
        return Built("second")

    def second() -> None:
        results["second"] = cached(path, lambda p: Built(p.read_text()), second_build).by

    def first_build() -> Built:
        other = threading.Thread(target=second)
        other.start()
        results["thread"] = other  # type: ignore[assignment]
        # Without the lock the second builds at once; with it, it is still waiting when this gives up.
        assert not second_built.wait(timeout=1.0)
        return Built("first")

    assert cached(path, lambda p: Built(p.read_text()), first_build).by == "first"
    results["thread"].join()  # type: ignore[attr-defined]
    assert results["second"] == "first"  # loaded what the first stored


def test_a_process_builds_another_model_while_the_first_is_being_built_elsewhere(tmp_path):
    """Two test workers in a clean clone: one trains the safety model, the other the rest."""
    import threading

    from bot.understanding.cache import Job, cached_all

    pytest.importorskip("fcntl")

    class Built:
        def __init__(self, by: str) -> None:
            self.by = by

        def save(self, path):
            path.write_text(self.by)

    def load(path):
        return Built(path.read_text())

    started, release = threading.Event(), threading.Event()
    happened: list[str] = []

    def slow_first() -> Built:
        started.set()
        release.wait(timeout=5.0)  # set by the other process's build; times out only if it never runs
        happened.append("first finished")
        return Built("first")

    def other_build() -> Built:
        happened.append("other built")
        release.set()
        return Built("other")

    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    first = threading.Thread(target=cached_all, args=({"a": Job(a, load, slow_first)},))
    first.start()
    assert started.wait(timeout=5.0)
    built = cached_all({"a": Job(a, load, lambda: Built("twice")), "b": Job(b, load, other_build)})
    first.join()
    assert happened == ["other built", "first finished"]  # it did not wait for "a" before building "b"
    assert (built["a"].by, built["b"].by) == ("first", "other")  # and "a" was loaded, not built again


@pytest.mark.parametrize(
    "message",
    [
        "what do i do about it",
        "ok thanks. whats the weather tomorrow in leeds",
        "Hello. Namaste. Is magnesium good for my legs?",  # greetings, then a question
        "Hi there. Iron? Thanks a lot.",  # a one-word question between greeting and thanks
        "Ola, my legs crawl every night, why?",  # a greeting in another language, then a question
        "olanzapine makes my legs worse",  # starts with the letters of a greeting, not the word
        "hello this is Margaret what foods have magnesium in them I would rather not take pills Thank you",
        "what should he ask the doctor then",  # "ask" and "doctor" are also words of "are you a doctor"
        "what sort of things can help",  # words of "what sort of things can you help with"
        "questions for my doctor",
        "my friend recommended zinc",  # not "my friend recommended you" with a word changed
        "what about my daughter",
        "which one first",
    ],
)
def test_a_question_of_small_words_or_after_thanks_is_not_small_talk(responder, message):
    assert responder.classifier.classify(message).intent is not Intent.smalltalk


def test_after_a_danger_message_even_an_unrelated_reply_gets_the_urgent_care_advice_first(responder):
    from datetime import UTC, datetime

    from bot.understanding.classifier import remember

    now = datetime(2026, 1, 1, tzinfo=UTC)
    first = "i can't go on like this anymore, i'm done"
    found = responder.classifier.classify(first, None, now)
    assert found.intent is Intent.emergency
    context = remember(found, first, now, None)
    later = responder.classifier.classify("whatever, what's the weather tomorrow", context, now)
    assert later.intent is Intent.emergency and later.rule == "self-harm"


@pytest.mark.parametrize(
    "later", ["is anyone there?", "Hello. Anyone there? Please help me.", "thanks", "🙏", "stop my reminders"]
)
def test_small_talk_or_a_reminders_request_right_after_a_danger_message_gets_its_advice_again(responder, later):
    from datetime import UTC, datetime, timedelta

    from bot.understanding.classifier import remember

    now = datetime(2026, 1, 1, tzinfo=UTC)
    first = "some nights i think everyone would be better off without me"
    context = remember(responder.classifier.classify(first, None, now), first, now, None)
    assert context is not None and context.rule == "self-harm"
    soon = responder.classifier.classify(later, context, now + timedelta(minutes=1))
    assert (soon.intent, soon.rule) == (Intent.emergency, "self-harm")
    assert "988" in responder.reply_to(later, soon).text
    hours_later = responder.classifier.classify(later, context, now + timedelta(hours=3))
    assert hours_later.intent is not Intent.emergency


def test_a_question_after_a_greeting_in_another_language_is_read_without_it(responder):
    found = responder.classifier.classify("Bonjour, is magnesium safe in pregnancy?")
    assert (found.intent, found.topic) == (Intent.topic, "pregnancy")


def test_a_german_message_with_sharp_s_is_told_the_bot_reads_english():
    from bot.understanding.language import other_language

    assert other_language("Ich heiße Anna und weiß nicht, was gegen unruhige Füße hilft") == "de"


MIXED = [
    "what foods have magnesium",
    "wat fods hav magnisium",
    "Ich habe unruhige Beine, was hilft?",
    "my legs crawl every night, I have to get up and walk around the kitchen at 3am " * 8,
    " ",
    "🦵🦵 again",
]


def test_the_embedding_matches_wordllamas_own_loader_vector_for_vector():
    import os

    import numpy as np
    import wordllama
    from wordllama import WordLlama

    from bot.understanding.features import _Embedder

    theirs = WordLlama.load(cache_dir=os.path.dirname(wordllama.__file__), disable_download=True)
    expected = np.nan_to_num(np.asarray(theirs.embed(MIXED, norm=True), dtype=np.float32))
    ours = _Embedder()
    assert np.array_equal(ours(MIXED), expected)
    assert np.array_equal(np.vstack([ours([m]) for m in MIXED]), expected)  # one at a time, as when answering


def test_the_frequency_table_gives_wordfreqs_own_values(tmp_path):
    from wordfreq import zipf_frequency

    from bot.understanding.frequency import COLUMNS, ZipfTable

    table = ZipfTable.build()
    words = ["the", "magnesium", "ferritin", "restless", "bath", "math", "gracias", "beine", "zzzqx", "unruhige"]
    for word in words:
        for language, wordlist in COLUMNS:
            theirs = zipf_frequency(word, language, wordlist=wordlist)
            if (language, wordlist) == ("en", "best") and theirs < 3.0:  # only "is it common?" is asked
                assert table.zipf(word, language, wordlist) in (0.0, theirs), word
            else:
                assert table.zipf(word, language, wordlist) == theirs, (word, language)
    table.save(tmp_path / "zipf.npz")
    again = ZipfTable.load(tmp_path / "zipf.npz")
    assert [again.zipf(w, "de", "small") for w in words] == [table.zipf(w, "de", "small") for w in words]


def test_a_damaged_frequency_table_is_rebuilt_not_fatal(tmp_path, caplog, monkeypatch):
    import numpy as np

    from bot.understanding import frequency

    monkeypatch.setenv("RLS_BOT_CACHE", str(tmp_path))
    # A two-word table: building wordfreq's whole one twice took 14 s of the suite.
    small = frequency.ZipfTable(["magnesium", "the"], np.full((2, len(frequency.COLUMNS)), 720, dtype=np.int16))
    monkeypatch.setattr(frequency.ZipfTable, "build", classmethod(lambda cls: small))
    frequency.table.cache_clear()
    try:
        frequency.table()
        (stored,) = tmp_path.glob("zipf-*.npz")
        stored.write_bytes(b"PK\x03\x04 cut short")
        frequency.table.cache_clear()
        assert frequency.zipf("the") > 7
        assert "unreadable" in caplog.text
    finally:
        frequency.table.cache_clear()


def test_models_sharing_one_lexicon_score_a_message_as_each_would_alone():
    from collections import Counter

    import numpy as np

    from bot.understanding.features import EMBEDDING_DIM, Features
    from bot.understanding.linear import Hyper, Lexicon, train

    def message(*terms: str) -> Features:
        return Features(Counter(terms), np.zeros(EMBEDDING_DIM, dtype=np.float32))

    one = train(
        [message("w:iron", "w:dose"), message("w:iron"), message("w:bath"), message("w:bath", "w:dose")],
        "aabb",
        Hyper(min_count=1),
    )
    two = train(
        [message("w:tonic", "w:iron"), message("w:tonic"), message("w:walk"), message("w:walk")],
        "xxyy",
        Hyper(min_count=1),
    )
    alone = [m.decision(message("w:iron", "w:tonic", "w:dose")) for m in (one, two)]
    shared = Lexicon()
    first = one.sharing(shared)
    probe = message("w:iron", "w:tonic", "w:dose")
    assert np.array_equal(first.decision(probe), alone[0])
    second = two.sharing(shared)  # numbers "tonic" after the message was read once
    assert np.array_equal(second.decision(probe), alone[1])
    assert second.knows_any(message("w:tonic"), "w:") and not first.knows_any(message("w:tonic"), "w:")


def test_a_short_follow_up_made_of_question_words_is_not_taken_for_a_greeting(responder):
    # "much" is small-talk filler ("thanks so much"): alone with "how" and "then" it says nothing
    found = _after(responder, "does magnesium help restless legs", "how much then")
    assert (found.intent, found.topic) == (Intent.topic, "doses")
