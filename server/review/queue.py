"""The review queues: every kind, filtered by state, district and a search term; stable order; paged.

Each filter is one sorted list of slim rows maintained by the lifecycle (server/lifecycle/
readmodel.py), so a page costs a few `_id` reads however many applications there are: a
district's list, or the city-wide "*" list for a city administrator; a reviewer of several
districts reads their lists merged. A name search reads the list of the name's rarest
character (the shortest) and keeps the rows whose name contains the term; a full ID number
is found through its archive-number claim.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata

from server.districts import deployment_districts, district_name
from server.errors import BadRequest
from server.lifecycle.readmodel import ALL, chars_name, queue_name, row, stamp
from server.lifecycle.store import LifecycleStore
from server.lifecycle.tables import COLLECTION, KINDS, all_states, kind_of
from server.lists import SortedList, counts, merged_page
from server.records.identifiers import archive_no_candidates
from server.staff.model import Staff

MAX_PAGE_SIZE = 100
QUERY_MAX = 64
ID_LIKE = re.compile(r"[0-9A-Za-z]{8,20}")


def status_filter(status: str | None, kind: str = "collection") -> str:
    """The state to list ("*" for every state), or a 400 for one the kind does not have."""
    if not status:
        return ALL
    k = kind_of(kind)
    states = k.states if k else dict.fromkeys(all_states())
    if status not in states:
        raise BadRequest(f"状态只能是 {'、'.join(states)}", "invalid_status")
    return status


def kind_filter(kind: str | None) -> str:
    """A known kind, or a 400."""
    if not kind:
        return "collection"
    if kind not in KINDS:
        raise BadRequest(f"申请类型只能是 {'、'.join(KINDS)}", "invalid_kind")
    return kind


def regions_of(settings, staff: Staff, region: str | None) -> list[str]:
    """The districts to list: one asked for (none when it is not the caller's), or all the caller's ("*")."""
    if region:
        if region not in deployment_districts(settings).codes:
            raise BadRequest("区划代码不正确", "invalid_region")
        return [region] if staff.can_see(region) else []
    return [ALL] if staff.is_city_admin else list(staff.regions)


def search_term(q: str | None) -> str:
    """The search term, NFC and trimmed ("" for none), or a 400 when too long."""
    text = unicodedata.normalize("NFC", q or "").strip()
    if len(text) > QUERY_MAX:
        raise BadRequest(f"搜索内容不能超过{QUERY_MAX}个字符", "query_too_long")
    return text


def show(settings, item: dict) -> dict:
    """A stored row as the list shows it (district name and state label added)."""
    kind = kind_of(item.get("kind")) or COLLECTION
    return {
        **item,
        "region_name": district_name(settings, item.get("region_code")),
        "status_label": kind.state_label(item.get("status")),
        "kind_label": kind.label,
    }


def lists(services, names: list[str]) -> list[SortedList]:
    return [SortedList(services.db, services.atomic, n) for n in names]


async def _search(services, staff: Staff, regions: list[str], status: str, text: str) -> list[dict]:
    """Rows of first collections whose name contains `text`, or whose ID number is `text`, in queue order."""
    found: dict[str, tuple[str, dict]] = {}
    wanted_regions = set(staff.regions) if regions == [ALL] else set(regions)
    compact = "".join(text.split())  # numbers are printed in groups: "H1234 5678"
    if ID_LIKE.fullmatch(compact):
        store = services.get(LifecycleStore)
        for number in archive_no_candidates(compact):  # a travel permit's number is kept with its prefix
            claim = await services.db["archive_numbers"].find_one({"_id": number})
            app = await store.application(claim["record_id"]) if claim else None
            if app and app.get("region_code") in wanted_regions and app.get("archive_no") == number:
                archive = await store.archive(number) if app.get("status") == "approved" else None
                r = row(app, archive)
                found[r["id"]] = (f"{stamp(r.get('submitted_at'))}|{r['id']}", r)
    chars = sorted(set(text.casefold()) - {" "})
    if chars and not any(c.isdigit() for c in chars):  # names hold no digits: an ID number is not a name

        async def in_region(region: str) -> list[tuple[str, dict]]:
            candidates = lists(services, [chars_name(region, c) for c in chars])
            sizes = await counts(candidates)
            if min(sizes) == 0:
                return []
            shortest = candidates[sizes.index(min(sizes))]
            needle = text.casefold()
            return [
                (key, r)
                for key, r in await shortest.page(0, min(sizes))
                if needle in unicodedata.normalize("NFC", r.get("name") or "").casefold()
            ]

        for matches in await asyncio.gather(*[in_region(r) for r in sorted(wanted_regions)]):
            for key, r in matches:
                found.setdefault(r["id"], (key, r))
    rows = sorted(found.values(), key=lambda kr: kr[0])
    return [r for _, r in rows if status == ALL or r.get("status") == status]


async def list_applications(
    services,
    staff: Staff,
    kind: str | None,
    status: str | None,
    region: str | None,
    q: str | None,
    page: int,
    page_size: int,
) -> dict:
    """One page of the caller's applications of a kind, oldest submission first, with the total."""
    page_size = min(page_size, MAX_PAGE_SIZE)
    kind = kind_filter(kind)
    state = status_filter(status, kind)
    regions = regions_of(services.settings, staff, region)
    text = search_term(q)
    offset = (page - 1) * page_size
    if text and kind == "collection":
        found = await _search(services, staff, regions, state, text) if regions else []
        items, total = found[offset : offset + page_size], len(found)
    else:
        chosen = lists(services, [queue_name(kind, state, r) for r in regions])
        items = [r for _, r in await merged_page(chosen, offset, page_size)] if chosen else []
        total = sum(await counts(chosen))
    return {"items": [show(services.settings, r) for r in items], "page": page, "page_size": page_size, "total": total}


async def list_records(
    services, staff: Staff, status: str | None, region: str | None, q: str | None, page: int, page_size: int
) -> dict:
    """One page of the caller's first collections (the record list of the first version)."""
    return await list_applications(services, staff, "collection", status, region, q, page, page_size)
