"""The project's near-duplicate groups, as the person last reviewed them, kept in the project
file (a setting) by content hash: a moved file stays in its group, a changed one leaves it.

The automatic split reads them (core/training/dataset.py passes them to
core/store/splits.assign_splits) so each group stays on one side; `pinned_leaks` lists the
groups that still straddle the split because the person pinned members to different sides,
which the Evaluate view warns about. Finding the groups is core/inference/duplicates.py's job.
"""

from __future__ import annotations

from dataclasses import dataclass

from mbv2gui.core.store.splits import group_leaks

SETTING = "near_duplicates"


def save_groups(project, groups: list[list[str]], threshold: float, source: str) -> None:
    """Stores the groups (lists of content hashes, two or more each) in one transaction."""
    kept = [sorted(set(g)) for g in groups if len(set(g)) > 1]
    project.set_setting(SETTING, {"threshold": float(threshold), "source": source,
                                  "groups": kept})


def stored_groups(project) -> list[list[str]]:
    """The stored groups (content hashes), [] when none were ever saved."""
    value = project.setting(SETTING) or {}
    return [list(g) for g in value.get("groups", []) if isinstance(g, list)]


def stored_threshold(project, source: str) -> float | None:
    """The threshold the person last chose for this kind of vector (None: never chosen)."""
    value = project.setting(SETTING) or {}
    return value.get("threshold") if value.get("source") == source else None


@dataclass(frozen=True)
class Leak:
    image_ids: list[int]   # the group's images in the project
    splits: list[str]      # each one's pinned split ("auto" follows the others)


def pinned_leaks(project) -> list[Leak]:
    """Groups whose usable labeled images the person pinned to training and to validation or
    test: the automatic split cannot mend them (it never moves a pinned image)."""
    groups = stored_groups(project)
    if not groups:
        return []
    images = [im for im in project.images() if im.class_id is not None and im.content_hash
              and im.status == "ok" and not im.excluded]
    keys = [im.content_hash for im in images]
    leaks = group_leaks(keys, [im.split for im in images], groups)
    return [Leak([images[i].id for i in members], [images[i].split for i in members])
            for members in leaks]


def leak_sentence(leaks: list[Leak]) -> str:
    """What the Evaluate view says while leaks remain ("" when none)."""
    if not leaks:
        return ""
    count = len(leaks)
    return (f"{count} group{'' if count == 1 else 's'} of near-duplicate images "
            f"{'is' if count == 1 else 'are'} pinned to both training and validation, so the "
            "validation accuracy is higher than the model deserves. In Label → Near-duplicates, "
            "set those images' split to Automatic or exclude the copies.")
