"""The dedupe claims on the real database: batched unique-key inserts, pending claims, release."""

from __future__ import annotations

import asyncio

from pymongo.errors import WriteError

from server.chat.batch import InsertBatcher
from server.chat.dedupe import Dedupe, message_key


async def test_batched_inserts_tell_each_caller_whether_its_key_was_new(server):
    coll = server.services.db["batch_test"]
    await coll.insert_one({"_id": "old"})
    batcher = InsertBatcher(coll)
    keys = ["a", "b", "old", "a", "c"]
    results = await asyncio.gather(*(batcher.insert({"_id": k, "n": i}) for i, k in enumerate(keys)))
    assert results == [True, True, False, False, True]
    assert sorted([d["_id"] async for d in coll.find({})]) == ["a", "b", "c", "old"]
    assert (await coll.find_one({"_id": "a"}))["n"] == 0


async def test_batches_stay_within_the_size_limit_and_all_callers_are_answered(server):
    coll = server.services.db["batch_test"]
    batcher = InsertBatcher(coll, max_batch=7, max_in_flight=1)
    results = await asyncio.gather(*(batcher.insert({"_id": i}) for i in range(50)))
    assert results == [True] * 50 and await coll.count_documents({}) == 50


async def test_a_document_the_database_refuses_raises_for_its_caller_only(server):
    coll = server.services.db["batch_test"]
    batcher = InsertBatcher(coll)
    good, bad = await asyncio.gather(
        batcher.insert({"_id": "fine"}), batcher.insert({"_id": "x", "$bad": 1}), return_exceptions=True
    )
    assert good is True and isinstance(bad, WriteError)
    assert await coll.count_documents({"_id": "fine"}) == 1


async def test_a_copy_waits_for_the_pending_claim_and_gets_its_reply(server):
    dedupe = server.services.get(Dedupe)
    first = await dedupe.claim("m:1")
    assert first.owner
    copy = asyncio.create_task(dedupe.claim("m:1"))
    await asyncio.sleep(0.1)
    assert not copy.done()
    await dedupe.finish("m:1", "答复")
    claim = await copy
    assert not claim.owner and claim.reply == "答复"


async def test_a_released_claim_can_be_taken_by_the_next_copy(server):
    dedupe = server.services.get(Dedupe)
    assert (await dedupe.claim("m:2")).owner
    await dedupe.release("m:2")
    assert (await dedupe.claim("m:2")).owner


def test_message_keys():
    assert message_key({"MsgId": "123", "FromUserName": "o"}) == "m:123"
    assert message_key({"FromUserName": "o", "CreateTime": "17", "Event": "subscribe"}) == "e:o:17:subscribe"
    assert message_key({"ToUserName": "gh"}) is None
    click = {"FromUserName": "o", "CreateTime": "17", "Event": "CLICK", "EventKey": "FAQ:transfer"}
    assert message_key(click) == "e:o:17:CLICK:FAQ:transfer"
    assert message_key({**click, "EventKey": "FAQ:photo_spec"}) != message_key(click)  # another tap
