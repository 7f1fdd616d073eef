"""The generated rows of ``bench/all.py``'s databases (``_all_data`` writes them, in the
organization ``_all_setup`` makes): assets, folders, campaigns, tasks and work requests
shaped as their create operations leave them, with the number of rows each case's
filter matches counted as they are generated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from _all_data import Meta, after, base_time, rng_for, stable_id

FOLDER_CAP = 100_000  # listFolders rows at most (folders past the tree: see README)
STEPS_CAP = 10_000  # tasks that get their steps and sub-steps
ROOTS, FANOUT, DEPTH = 5, 4, 3  # asset folders: 5 roots, 3 levels of 4 subfolders each
TASK_CAMPAIGNS = 1_000  # tasks point at the first campaigns only
WORD = "harbor"  # the searched word; in 5 % of asset and task titles
SEARCH_SHARE = 0.05
KINDS = (
    (("image", "image/png", "png"),) * 7
    + (("video", "video/mp4", "mp4"),)
    + (("raw_file", "application/pdf", "pdf"),) * 2
)
STATUSES = (
    ("Not Started", 0.15),
    ("In Progress", 0.65),
    ("Completed", 0.12),
    ("On Hold", 0.04),
    ("Archived", 0.04),
)
WR_STATUSES = ("Submitted",) * 14 + ("Accepted",) * 3 + ("Completed",) * 2 + ("Declined",)
WORKFLOW: list[dict[str, Any]] = [  # 3 steps, 4 sub-steps (as the demo "Blog post"), no assignees
    {"name": "Create", "sub_steps": [{"name": "Write draft"}, {"name": "Add images"}]},
    {"name": "Review", "sub_steps": [{"name": "Edit"}]},
    {"name": "Publish", "sub_steps": [{"name": "Go live"}]},
]
# Written by the create operations but by no generated row: no list reads them.
NOT_GENERATED = {"outbox_events", "jobs"}
Row = dict[str, Any]
Node = tuple[str, str | None, str]  # folder id, parent id, id path


# --------------------------------------------------------------------------- rows


def generate(meta: Meta) -> Iterator[tuple[str, Row]]:
    """Every row, parents first; fills ``meta.expected`` as it goes."""
    tree = _tree()
    yield from _folders(meta, tree)
    yield from _assets(meta, tree)
    yield from _campaigns(meta)
    yield from _tasks(meta)
    yield from _work_requests(meta)
    for name in ("task", "campaign", "work_request"):
        yield "org_counters", {"name": name, "org_id": meta.org_id, "value": meta.size}


def _tree() -> list[tuple[int, str, str | None, str]]:
    """(root index, id, parent id, id path) of the asset folders, parents first."""
    out: list[tuple[int, str, str | None, str]] = []
    for r in range(ROOTS):
        level: list[Node] = [(stable_id("root", r), None, f"/{stable_id('root', r)}/")]
        out += [(r, i, p, path) for i, p, path in level]
        for depth in range(DEPTH):
            nxt: list[Node] = []
            for parent, _, path in level:
                for k in range(FANOUT):
                    child = stable_id(f"folder:{parent}:{depth}", k)
                    nxt.append((child, parent, f"{path}{child}/"))
            out += [(r, i, p, path) for i, p, path in nxt]
            level = nxt
    return out


def _folders(meta: Meta, tree: list[tuple[int, str, str | None, str]]) -> Iterator[tuple[str, Row]]:
    rng, t0 = rng_for("folders"), base_time()
    total = max(min(meta.size, FOLDER_CAP), len(tree))
    meta.ids["member_folder"], meta.ids["filter_folder"] = tree[0][1], stable_id("root", 1)
    extra = total - len(tree)
    bulk: list[Node] = (
        [] if extra == 0 else [(stable_id("bulk", 0), None, f"/{stable_id('bulk', 0)}/")]
    )
    groups = min(100, max(extra - 1, 0))
    for g in range(groups):
        fid = stable_id("bulk-group", g)
        bulk.append((fid, bulk[0][0], f"{bulk[0][2]}{fid}/"))
    for n in range(extra - len(bulk)):
        group = bulk[1 + n % groups] if groups else bulk[0]
        fid = stable_id("bulk-leaf", n)
        bulk.append((fid, group[0], f"{group[2]}{fid}/"))
    every = [(i, p, path) for _, i, p, path in tree] + bulk
    for n, (fid, parent, path) in enumerate(every):
        created = after(t0, n)
        yield (
            "library_folders",
            {
                "id": fid,
                "org_id": meta.org_id,
                "name": f"Bench folder {n:07d}",
                "parent_id": parent,
                "id_path": path,
                "created_by": meta.admin_id,
                "created_at": created,
                "modified_at": after(created, rng.randrange(0, 90 * 86_400)),
            },
        )
        yield "library_acl", _owner(meta, "folder", fid, created)
        if n == 0:  # the member's grant, as createFolderPermission leaves it
            yield (
                "library_acl",
                {
                    "org_id": meta.org_id,
                    "resource_type": "folder",
                    "resource_id": fid,
                    "accessor_type": "user",
                    "accessor_id": meta.member_id,
                    "level": int(meta.ids["member_level"]),
                    "is_owner": False,
                    "created_at": created,
                },
            )
    meta.expected["folders"] = len(every)


def _owner(meta: Meta, kind: str, resource_id: str, created: Any) -> Row:
    return {
        "org_id": meta.org_id,
        "resource_type": kind,
        "resource_id": resource_id,
        "accessor_type": "user",
        "accessor_id": meta.admin_id,
        "level": 4,
        "is_owner": True,
        "created_at": created,
    }


def _assets(meta: Meta, tree: list[tuple[int, str, str | None, str]]) -> Iterator[tuple[str, Row]]:
    rng, t0, ids, org = rng_for("assets"), base_time(), meta.ids, meta.org_id
    by_root: list[list[str]] = [
        [fid for r, fid, _, _ in tree if r == root] for root in range(ROOTS)
    ]
    key, size = ids["storage_key"], int(ids["storage_size"])
    expected = dict.fromkeys(("assets", "image", "label", "field", "folder", "search", "member"), 0)
    for i in range(meta.size):
        asset_id, version_id = stable_id("asset", i), stable_id("version", i)
        root = i % ROOTS
        folder = by_root[root][(i // ROOTS) % len(by_root[root])]
        type_, mime, ext = KINDS[i % len(KINDS)]
        hit = rng.random() < SEARCH_SHARE
        title = f"Bench asset {i:07d}{' ' + WORD if hit else ''}.{ext}"
        created = after(t0, 30 * i)
        modified = after(created, rng.randrange(0, 30 * 86_400))
        yield (
            "library_assets",
            {
                "id": asset_id,
                "org_id": org,
                "type": type_,
                "title": title,
                "description": None,
                "folder_id": folder,
                "owner_id": meta.admin_id,
                "mime_type": mime,
                "file_extension": ext,
                "file_size": size,
                "width": 16 if type_ == "image" else None,
                "height": 16 if type_ == "image" else None,
                "storage_key": key,
                "html_body": None,
                "is_archived": False,
                "is_public": False,
                "allow_se_indexing": False,
                "alt_text": None,
                "attribution_text": None,
                "tags": [],
                "expires_at": None,
                "version_number": 1,
                "version_id": version_id,
                "created_at": created,
                "modified_at": modified,
            },
        )
        yield (
            "library_asset_versions",
            {
                "id": version_id,
                "org_id": org,
                "asset_id": asset_id,
                "version_number": 1,
                "type": type_,
                "title": title,
                "mime_type": mime,
                "file_size": size,
                "storage_key": key,
                "created_at": created,
            },
        )
        yield "library_acl", _owner(meta, "asset", asset_id, created)
        roll = rng.random()
        if roll < 0.3:  # 10 % the filtered value, 20 % the other one
            value = ids["label"] if roll < 0.1 else ids["other_label"]
            expected["label"] += roll < 0.1
            yield (
                "library_asset_labels",
                {"asset_id": asset_id, "group_id": ids["label_group"], "value_id": value},
            )
        roll = rng.random()
        if roll < 0.3:  # 15 % [Web] (the filtered choice), 15 % [Email, Social]
            expected["field"] += roll < 0.15
            chosen = [ids["web"]] if roll < 0.15 else [ids["email"], ids["social"]]
            yield (
                "field_values",
                {
                    "org_id": org,
                    "owner_type": "asset",
                    "owner_id": asset_id,
                    "field_id": ids["field"],
                    "value": chosen,
                    "position": 0,
                    "modified_at": modified,
                },
            )
        expected["assets"] += 1
        expected["image"] += type_ == "image"
        expected["search"] += hit
        expected["folder"] += root == 1
        expected["member"] += root == 0
    meta.expected.update(expected)


def _campaigns(meta: Meta) -> Iterator[tuple[str, Row]]:
    rng, t0 = rng_for("campaigns"), base_time()
    meta.ids["campaign"] = stable_id("campaign", 0)
    for k in range(meta.size):
        created = after(t0, 60 * k)
        start = date(2026, 1, 1) + timedelta(days=k % 365) if rng.random() < 0.5 else None
        yield (
            "campaigns",
            {
                "id": stable_id("campaign", k),
                "org_id": meta.org_id,
                "number": k + 1,
                "title": f"Bench campaign {k:07d}",
                "description": None,
                "color": None,
                "start_date": start,
                "end_date": start + timedelta(days=30) if start else None,
                "owner_id": meta.admin_id,
                "parent_id": None,
                "status": "Not Started",
                "is_hidden": False,
                "labels": [],
                "budget_amount": None,
                "budget_currency": None,
                "created_by": meta.admin_id,
                "created_at": created,
                "modified_at": created,
            },
        )
    meta.expected["campaigns"] = meta.size


def _tasks(meta: Meta) -> Iterator[tuple[str, Row]]:
    """Tasks of the two bench workflows (25 % the filtered one); 10 % in the filtered
    campaign, 40 % in one of the next 999; statuses as ``STATUSES`` with 10 % of the In
    Progress ones overdue. Due dates are fixed (late ones before ``base_time``, the others
    10 years after it), so the wire statuses, and the counts, do not change with time.
    Only the first ``STEPS_CAP`` tasks get their steps and sub-steps."""
    rng, t0, ids, org = rng_for("tasks"), base_time(), meta.ids, meta.org_id
    campaigns = max(1, min(meta.size, TASK_CAMPAIGNS))
    expected = dict.fromkeys(("tasks", "status", "workflow", "campaign", "task_search"), 0)
    for i in range(meta.size):
        task_id = stable_id("task", i)
        created = after(t0, 30 * i)
        modified = after(created, rng.randrange(0, 5 * 86_400))
        status = _pick(rng.random())
        overdue_at, late = None, False
        if status in ("Not Started", "In Progress") and rng.random() < 0.7:
            late = status == "In Progress" and rng.random() < 0.1 / 0.7
            days = -rng.randrange(1, 10) if late else 3650 + rng.randrange(1, 30)
            overdue_at = t0 + timedelta(days=days)
        workflow = ids["workflow"] if rng.random() < 0.25 else ids["other_workflow"]
        roll = rng.random()
        campaign = (
            stable_id("campaign", 0)
            if roll < 0.1
            else stable_id("campaign", 1 + i % (campaigns - 1))
            if roll < 0.5 and campaigns > 1
            else None
        )
        hit = rng.random() < SEARCH_SHARE
        yield (
            "tasks",
            {
                "id": task_id,
                "org_id": org,
                "number": i + 1,
                "title": f"Bench task {i:07d}{' ' + WORD if hit else ''}",
                "workflow_id": workflow,
                "campaign_id": campaign,
                "milestone_id": None,
                "owner_id": meta.admin_id,
                "start_at": None,
                "due_at": overdue_at,
                "overdue_at": overdue_at,
                "status": status,
                "is_started": status != "Not Started",
                "is_completed": status == "Completed",
                "is_archived": status == "Archived",
                "is_on_hold": status == "On Hold",
                "labels": [],
                "created_by": meta.admin_id,
                "created_at": created,
                "modified_at": modified,
            },
        )
        if i < STEPS_CAP:
            yield from _steps(org, task_id, status, created, modified)
        expected["tasks"] += 1
        expected["status"] += status == "In Progress" and not late
        expected["workflow"] += workflow == ids["workflow"]
        expected["campaign"] += campaign == ids["campaign"]
        expected["task_search"] += hit
    meta.expected.update(expected)


def _pick(roll: float) -> str:
    acc = 0.0
    for status, share in STATUSES:
        acc += share
        if roll < acc:
            return status
    return STATUSES[-1][0]


def _steps(
    org: str, task_id: str, status: str, created: Any, modified: Any
) -> Iterator[tuple[str, Row]]:
    """The steps and sub-steps createTask copies, in states that match the status."""
    k = 0
    for p, step in enumerate(WORKFLOW):
        step_id = stable_id(f"step:{task_id}", p)
        done = status == "Completed"
        yield (
            "task_steps",
            {
                "id": step_id,
                "org_id": org,
                "task_id": task_id,
                "position": p,
                "title": step["name"],
                "description": None,
                "due_at": None,
                "is_completed": done,
                "completed_at": modified if done else None,
            },
        )
        for m, sub in enumerate(step["sub_steps"]):
            state = _state(status, k)
            yield (
                "task_sub_steps",
                {
                    "id": stable_id(f"sub:{task_id}", k),
                    "org_id": org,
                    "task_id": task_id,
                    "step_id": step_id,
                    "position": m,
                    "title": sub["name"],
                    "description": None,
                    "actions": [],
                    "state": state,
                    "assignee_type": "user",
                    "assignee_id": None,
                    "is_external": False,
                    "external_system": None,
                    "is_user_interaction_allowed": True,
                    "ext_identifier": None,
                    "ext_title": None,
                    "ext_status": None,
                    "ext_url": None,
                    "started_at": created if state != "waiting" else None,
                    "finished_at": modified if state == "completed" else None,
                    "modified_at": modified,
                },
            )
            k += 1


def _state(status: str, k: int) -> str:
    if status == "Completed":
        return "completed"
    if status == "Not Started":
        return "open" if k == 0 else "waiting"
    return ("completed", "in_progress")[k] if k < 2 else "waiting"


def _work_requests(meta: Meta) -> Iterator[tuple[str, Row]]:
    """Work requests of the bench template, each with the form createWorkRequest stored
    for the sample (its title replaced)."""
    t0, form = base_time(), json.loads(meta.ids["wr_form"])
    for k in range(meta.size):
        created = after(t0, 60 * k + (k % 1_000_000) / 1_000_000)
        title = f"Bench request {k:07d}"
        values = {key: [title] if v == ["Sample"] else v for key, v in form.items()}
        yield (
            "work_requests",
            {
                "id": stable_id("work-request", k),
                "org_id": meta.org_id,
                "number": k + 1,
                "template_id": meta.ids["template"],
                "status": WR_STATUSES[k % len(WR_STATUSES)],
                "priority": "Medium",
                "form_values": values,
                "assignees": [],
                "due_date": None,
                "created_by": meta.admin_id,
                "created_at": created,
                "modified_at": created.replace(microsecond=0),
            },
        )
    meta.expected["work_requests"] = meta.size
