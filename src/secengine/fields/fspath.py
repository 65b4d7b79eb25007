"""The ``fs.path`` field class (libsinsp ``sinsp_filtercheck_fspath.cpp``).

Paths of the syscalls that act on filesystem paths (unlink, rename, mkdir,
symlink, ...) as well as of those that open fds: the path as given
(``...raw``) and resolved against the thread's cwd or the dirfd. The table
follows libsinsp's, in its order, with its types and descriptions.
"""

from __future__ import annotations

from secengine.fields.base import FieldClass, FieldDef, FieldType

__all__ = ["FIELD_CLASS"]

FIELD_CLASS = FieldClass(
    name="fs.path",
    desc="Every syscall that has a filesystem path in its arguments has these fields set with "
    "information related to the path arguments. This differs from the fd.* fields as it "
    "includes syscalls like unlink, rename, etc. that act directly on filesystem paths as "
    "compared to opened file descriptors.",
    sources=("syscall",),
    fields=(
        FieldDef(
            "fs.path.name",
            FieldType.CHARBUF,
            "For any event type that deals with a filesystem path, the path the file "
            "syscall is operating on. This path is always fully resolved, prepending the "
            "thread cwd when needed.",
        ),
        FieldDef(
            "fs.path.nameraw",
            FieldType.CHARBUF,
            "For any event type that deals with a filesystem path, the path the file "
            "syscall is operating on. This path is always the path provided to the syscall "
            "and may not be fully resolved.",
        ),
        FieldDef(
            "fs.path.source",
            FieldType.CHARBUF,
            "For any event type that deals with a filesystem path, and specifically for a "
            "source and target like mv, cp, etc, the source path the file syscall is "
            "operating on. This path is always fully resolved, prepending the thread cwd "
            "when needed.",
        ),
        FieldDef(
            "fs.path.sourceraw",
            FieldType.CHARBUF,
            "For any event type that deals with a filesystem path, and specifically for a "
            "source and target like mv, cp, etc, the source path the file syscall is "
            "operating on. This path is always the path provided to the syscall and may not "
            "be fully resolved.",
        ),
        FieldDef(
            "fs.path.target",
            FieldType.CHARBUF,
            "For any event type that deals with a filesystem path, and specifically for a "
            "target and target like mv, cp, etc, the target path the file syscall is "
            "operating on. This path is always fully resolved, prepending the thread cwd "
            "when needed.",
        ),
        FieldDef(
            "fs.path.targetraw",
            FieldType.CHARBUF,
            "For any event type that deals with a filesystem path, and specifically for a "
            "target and target like mv, cp, etc, the target path the file syscall is "
            "operating on. This path is always the path provided to the syscall and may not "
            "be fully resolved.",
        ),
    ),
)
