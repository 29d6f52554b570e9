"""Updates are handled concurrently across chats and strictly in order within a chat, through real
HTTP: the webhook in, the fake Bot API (every call held `latency` seconds) out."""

from __future__ import annotations

import httpx

from bot.devtools.fake_bot_api import ANSWERS, BOT_ID, FakeBotApi
from bot.web import SECRET_HEADER

from .test_webhook import SECRET, update, webhook_serving


def button(data: str, update_id: int, chat_id: int = 42) -> dict:
    """A pressed inline button: answerCallbackQuery and then the answer, so twice as slow as text."""
    message = {"message_id": 5, "date": 1, "chat": {"id": chat_id, "type": "private"}, "text": "menu"}
    message["from"] = {"id": BOT_ID, "is_bot": True, "first_name": "RLS"}
    user = {"id": chat_id, "is_bot": False, "first_name": "Ann"}
    query = {"id": str(update_id), "from": user, "chat_instance": "1", "data": data, "message": message}
    return {"update_id": update_id, "callback_query": query}


async def test_a_chats_messages_are_answered_in_order_while_other_chats_go_ahead(
    bot_api: FakeBotApi, content, tmp_path, clock
):
    bot_api.latency = 0.5
    async with webhook_serving(bot_api, content, tmp_path, clock) as (base, _):
        async with httpx.AsyncClient() as client:

            async def post(body: dict) -> None:
                response = await client.post(f"{base}/hook/abc", json=body, headers={SECRET_HEADER: SECRET})
                assert response.status_code == 200

            before = len(bot_api.started)
            await post(button("t:doses", 1))  # chat 42's first: the slow kind
            await bot_api.wait_until(lambda: len(bot_api.started) > before)  # ...and now being answered
            await post(update("what foods have magnesium", 2))  # the rest arrive while it is in flight
            await post(update("my chest hurts badly", 3, chat_id=43))  # someone else, meanwhile
            await post(button("t:symptoms", 4))
            await post(update("does coffee make rls worse", 5))
        replies = await bot_api.wait_for(ANSWERS, count=5, timeout=30)  # a pressed button edits its message
    order = [(r["chat_id"], r["text"].split("\n")[0]) for r in replies]
    chat_42 = [first_line for chat, first_line in order if chat == 42]
    assert chat_42 == [
        "<b>How much magnesium</b>",
        "<b>Foods with magnesium</b>",
        "<b>How RLS feels</b>",
        "<b>Caffeine, alcohol, smoking</b>",
    ]
    assert order[0][0] == 43  # answered first: it did not queue behind chat 42's slow button
