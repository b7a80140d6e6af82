"""The one folder walker: which files under dropped paths or a dataset folder are images.

Every entry point lists files through here (import, `train FOLDER`, `evaluate FOLDER`,
`predict FOLDER` and the Predict view), so the command line and the window always see the same
images. The rules:
  - hidden entries (a leading "."; .DS_Store, .git, macOS "._x.jpg" AppleDouble files) and a
    project's sidecar folder (its thumbnails are not the user's images) are skipped, uncounted;
  - an entry whose name is not an image's (`images.is_image_name`) is counted in `non_images`;
  - an image-named entry that is not a regular file once links are followed (a FIFO, a socket, a
    device, a link to /dev/zero, a dangling link) is *refused*: listed with its reason and never
    opened, since reading a pipe blocks forever and a device never ends;
  - folders reached through symlinks are walked, but each folder once, by (device, inode): a
    symlink loop cannot trap the walk;
  - a folder that cannot be listed is skipped, with its reason in `skipped_folders`;
  - entries come in sorted name order, so a folder lists the same way every time;
  - `should_stop` is polled per entry.

The class rule (Keras' `flow_from_directory` layout): inside a dropped folder, each top-level
subfolder's name is the class of every image under it, at any depth; images lying directly in
the dropped folder, and files dropped on their own, have no class.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from mbv2gui.core.errors import UserError
from mbv2gui.core.files.images import display_path, is_image_name
from mbv2gui.core.jobs import ShouldStop, never_stop
from mbv2gui.core.store.sidecar import is_data_folder

NOT_REGULAR = "it is not a regular file"  # a pipe, socket or device: reading it may never end
MISSING = "the file is missing (it was moved or deleted)"


@dataclass(frozen=True)
class Found:
    """An image-named file: its path, its class (None: none), and why it cannot be read as an
    image without even opening it (None: a regular file, to be decoded as usual)."""
    path: str
    label: str | None = None
    problem: str | None = None


@dataclass
class Listing:
    found: list[Found] = field(default_factory=list)   # sorted, usable and refused alike
    classes: list[str] = field(default_factory=list)   # class subfolders seen, empty ones too
    non_images: int = 0                                 # files whose names are not images'
    skipped_folders: list[tuple[str, str]] = field(default_factory=list)  # (folder, reason)
    cancelled: bool = False

    @property
    def usable(self) -> list[Found]:
        return [f for f in self.found if f.problem is None]

    @property
    def refused(self) -> list[Found]:
        return [f for f in self.found if f.problem is not None]


def file_problem(path: str | os.PathLike) -> str | None:
    """Why `path` cannot be read as an image file, found without opening it, or None."""
    try:
        info = os.stat(path)  # follows links: a link to /dev/zero is judged as /dev/zero
    except FileNotFoundError:
        return MISSING
    except OSError as exc:
        return _os_reason(exc, "file")
    return None if stat.S_ISREG(info.st_mode) else NOT_REGULAR


def _os_reason(exc: OSError, what: str) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied (the {what} cannot be read by you; check its permissions)"
    return f"the {what} could not be read ({exc.strerror or exc})"


def _problem_of(entry: os.DirEntry) -> str | None:
    # A plain file (no link) is known regular from the listing itself: no extra system call.
    if entry.is_file(follow_symlinks=False):
        return None
    return file_problem(entry.path)


class Walker:
    """Walks dropped paths by the rules above; one Walker never enters a folder twice."""

    def __init__(self, should_stop: ShouldStop = never_stop, tick: Callable[[], None] | None = None):
        self.should_stop, self.tick = should_stop, tick or (lambda: None)
        self.listing = Listing()
        self._visited: set[tuple[int, int]] = set()  # (device, inode) of every folder entered

    def _enter(self, folder: str) -> list[os.DirEntry]:
        """The folder's entries in name order; none if it was already seen (a loop or a second
        link to it) or cannot be listed (then the reason is kept)."""
        try:
            info = os.stat(folder)
            if (info.st_dev, info.st_ino) in self._visited:
                return []
            self._visited.add((info.st_dev, info.st_ino))
            with os.scandir(folder) as entries:
                return sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            self.listing.skipped_folders.append((folder, _os_reason(exc, "folder")))
            return []

    def _kind(self, entry: os.DirEntry) -> str:
        """'folder', 'image', 'other', or 'ignore' (hidden entries, sidecar folders)."""
        if entry.name.startswith("."):
            return "ignore"
        try:
            if entry.is_dir():
                return "ignore" if is_data_folder(entry.name) else "folder"
        except OSError:
            return "other"
        return "image" if is_image_name(entry.name) else "other"

    def _walk(self, folder: str, top: bool, label: str | None) -> Iterator[Found]:
        for entry in self._enter(folder):
            if self.should_stop():
                self.listing.cancelled = True
                return
            kind = self._kind(entry)
            if kind == "folder":
                # Below a dropped folder, the top-level subfolder names the class of everything
                # under it; display_path keeps a non-UTF-8 folder name usable as text.
                inner = display_path(entry.name) if top else label
                if top and inner not in self.listing.classes:
                    self.listing.classes.append(inner)
                yield from self._walk(entry.path, False, inner)
            elif kind == "image":
                self.tick()
                yield Found(entry.path, label, _problem_of(entry))
            elif kind == "other":
                self.listing.non_images += 1

    def dropped(self, path: str | os.PathLike) -> Iterator[Found]:
        """The images under one dropped file or folder (see the class rule above)."""
        path = os.fsdecode(path)
        if os.path.isdir(path):
            yield from self._walk(path, True, None)
        elif is_image_name(path):
            self.tick()
            yield Found(path, None, file_problem(path))
        else:
            self.listing.non_images += 1

    def walk(self, paths: Iterable[str | os.PathLike]) -> Listing:
        for path in paths:
            self.listing.found += self.dropped(path)
            if self.listing.cancelled:
                break
        return self.listing


def walk_dropped(paths: Iterable[str | os.PathLike], should_stop: ShouldStop = never_stop,
                 tick: Callable[[], None] | None = None) -> Listing:
    """Every image under the dropped files and folders, with its class (import's rule)."""
    return Walker(should_stop, tick).walk(paths)


def class_folder(folder: str | os.PathLike, should_stop: ShouldStop = never_stop) -> Listing:
    """A dataset folder with one subfolder per class: its classes (`classes`, sorted, empty
    ones too) and the images in them; images lying loose in `folder` itself have no class and
    are left out. Raises UserError if `folder` is not a folder that can be read."""
    folder = os.fsdecode(folder)
    if not os.path.isdir(folder):
        raise UserError(f"{display_path(folder)} is not a folder; give a folder with one "
                        "subfolder of images per class.")
    listing = walk_dropped([folder], should_stop)
    if listing.skipped_folders and listing.skipped_folders[0][0] == folder:
        raise UserError(f"The folder {display_path(folder)} cannot be read: "
                        f"{listing.skipped_folders[0][1]}.")
    listing.found = [f for f in listing.found if f.label is not None]
    return listing


def image_files(items: Iterable[str | os.PathLike], should_stop: ShouldStop = never_stop) -> list[str]:
    """Prediction's list: files as given (a file the user names gets its own answer, even if
    it is no image), folders replaced by the images under them (refused ones included: their
    reading fails with the reason). Raises UserError for a path that does not exist."""
    walker, paths = Walker(should_stop), []
    for item in map(os.fsdecode, items):
        if os.path.isdir(item):
            paths += [f.path for f in walker.dropped(item)]
        elif os.path.lexists(item):
            paths.append(item)
        else:
            raise UserError(f"{display_path(item)} does not exist; give image files or folders "
                            "of images.")
    return paths
