#!/usr/bin/python3
"""A forgetful disk for power-cut tests: an in-memory FUSE file system that remembers, besides what every file and
directory holds now, what it held at its last fsync/fdatasync. Writing "cut" to the control file `/.forgetful`
simulates a power cut: every file goes back to its last synced content and every directory to its last synced
entries (creates, renames and unlinks are durable only once their directory is fsynced), so what remains is exactly
what was synced. Files and directories that no synced entry reaches are gone. Writing "eio /some/dir" makes every
write, truncate and fsync under that directory fail with EIO (a failing disk) until "eio off".

Usage: forgetful_fs.py MOUNTPOINT   (runs in the foreground, single-threaded; unmount with `umount MOUNTPOINT`)

Reads and writes bypass the kernel page cache (direct_io, zero attribute and entry timeouts), so after a cut the
next process sees the forgotten state at once. Shared memory maps are refused (the broker falls back to reads).
"""
import errno
import os
import stat
import sys
import time

from fusepy import FUSE, FuseOSError, Operations

CONTROL = "/.forgetful"


class Node:
    """A file or directory: its current state and its last synced state."""

    __slots__ = ("is_dir", "mode", "data", "synced", "dirty_from", "entries", "synced_entries", "mtime")

    def __init__(self, is_dir, mode):
        self.is_dir = is_dir
        self.mode = mode
        self.mtime = time.time()
        if is_dir:
            self.entries = {}
            self.synced_entries = {}
        else:
            self.data = bytearray()
            self.synced = bytearray()
            self.dirty_from = None  # lowest byte position changed since the last sync, None when clean

    def touch(self, position):
        self.mtime = time.time()
        if self.dirty_from is None or position < self.dirty_from:
            self.dirty_from = position

    def sync_data(self):
        if self.dirty_from is None:
            return
        start = min(self.dirty_from, len(self.synced))
        self.synced[start:] = self.data[start:]
        self.dirty_from = None


class ForgetfulFS(Operations):
    def __init__(self):
        self.root = Node(True, stat.S_IFDIR | 0o755)
        self.handles = {}
        self.next_fh = 1
        self.cuts = 0
        self.syncs = 0
        self.failing = None  # path prefix whose writes and syncs fail with EIO

    # ---- paths ----
    def lookup(self, path):
        node = self.root
        for part in path.split("/"):
            if not part:
                continue
            if not node.is_dir or part not in node.entries:
                raise FuseOSError(errno.ENOENT)
            node = node.entries[part]
        return node

    def parent_of(self, path):
        head, _, name = path.rstrip("/").rpartition("/")
        parent = self.lookup(head or "/")
        if not parent.is_dir:
            raise FuseOSError(errno.ENOTDIR)
        return parent, name

    def node_for(self, path, fh):
        if fh:
            node = self.handles.get(fh)
            if node is not None:
                return node
        return self.lookup(path)

    def new_handle(self, node):
        fh = self.next_fh
        self.next_fh += 1
        self.handles[fh] = node
        return fh

    def check_failing(self, path):
        if self.failing is not None and (path == self.failing or path.startswith(self.failing + "/")):
            raise FuseOSError(errno.EIO)

    # ---- the power cut ----
    def cut(self):
        """Forgets everything not synced: reachable nodes go back to their synced state."""
        seen = set()

        def revert(node):
            if id(node) in seen:
                return
            seen.add(id(node))
            if node.is_dir:
                node.entries = dict(node.synced_entries)
                for child in node.entries.values():
                    revert(child)
            else:
                node.data = bytearray(node.synced)
                node.dirty_from = None

        revert(self.root)
        self.handles.clear()
        self.cuts += 1

    # ---- metadata ----
    def getattr(self, path, fh=None):
        if path == CONTROL:
            return {"st_mode": stat.S_IFREG | 0o666, "st_nlink": 1, "st_size": 0}
        node = self.node_for(path, fh)
        now = node.mtime
        attrs = {"st_mode": node.mode, "st_uid": 0, "st_gid": 0, "st_atime": now, "st_mtime": now, "st_ctime": now}
        if node.is_dir:
            attrs.update(st_nlink=2, st_size=4096)
        else:
            attrs.update(st_nlink=1, st_size=len(node.data), st_blocks=(len(node.data) + 511) // 512)
        return attrs

    def readdir(self, path, fh):
        node = self.lookup(path)
        if not node.is_dir:
            raise FuseOSError(errno.ENOTDIR)
        return [".", ".."] + list(node.entries)

    def statfs(self, path):
        return {"f_bsize": 4096, "f_frsize": 4096, "f_blocks": 1 << 24, "f_bfree": 1 << 23, "f_bavail": 1 << 23,
                "f_files": 1 << 20, "f_ffree": 1 << 19, "f_namemax": 255}

    def chmod(self, path, mode):
        node = self.lookup(path)
        node.mode = (node.mode & ~0o7777) | (mode & 0o7777)
        return 0

    def chown(self, path, uid, gid):
        return 0

    def utimens(self, path, times=None):
        self.lookup(path).mtime = times[1] if times else time.time()
        return 0

    def access(self, path, amode):
        if path != CONTROL:
            self.lookup(path)
        return 0

    # ---- directory changes (durable once the directory is fsynced) ----
    def mkdir(self, path, mode):
        parent, name = self.parent_of(path)
        if name in parent.entries:
            raise FuseOSError(errno.EEXIST)
        parent.entries[name] = Node(True, stat.S_IFDIR | (mode & 0o7777))
        return 0

    def rmdir(self, path):
        parent, name = self.parent_of(path)
        node = parent.entries.get(name)
        if node is None:
            raise FuseOSError(errno.ENOENT)
        if not node.is_dir:
            raise FuseOSError(errno.ENOTDIR)
        if node.entries:
            raise FuseOSError(errno.ENOTEMPTY)
        del parent.entries[name]
        return 0

    def unlink(self, path):
        parent, name = self.parent_of(path)
        node = parent.entries.get(name)
        if node is None:
            raise FuseOSError(errno.ENOENT)
        if node.is_dir:
            raise FuseOSError(errno.EISDIR)
        del parent.entries[name]
        return 0

    def rename(self, old, new):
        old_parent, old_name = self.parent_of(old)
        new_parent, new_name = self.parent_of(new)
        node = old_parent.entries.get(old_name)
        if node is None:
            raise FuseOSError(errno.ENOENT)
        target = new_parent.entries.get(new_name)
        if target is not None and target.is_dir and target.entries:
            raise FuseOSError(errno.ENOTEMPTY)
        del old_parent.entries[old_name]
        new_parent.entries[new_name] = node
        return 0

    def fsyncdir(self, path, datasync, fh):
        self.check_failing(path)
        node = self.lookup(path)
        node.synced_entries = dict(node.entries)
        self.syncs += 1
        return 0

    # ---- files ----
    def create(self, path, mode, fi=None):
        if path == CONTROL:
            return 0
        self.check_failing(path)
        parent, name = self.parent_of(path)
        node = parent.entries.get(name)
        if node is None:
            node = Node(False, stat.S_IFREG | (mode & 0o7777))
            parent.entries[name] = node
        return self.new_handle(node)

    def open(self, path, flags):
        if path == CONTROL:
            return 0
        node = self.lookup(path)
        if node.is_dir:
            raise FuseOSError(errno.EISDIR)
        if flags & os.O_TRUNC:
            node.touch(0)
            del node.data[:]
        return self.new_handle(node)

    def read(self, path, size, offset, fh):
        if path == CONTROL and not fh:
            return b"cuts=%d syncs=%d\n" % (self.cuts, self.syncs) if offset == 0 else b""
        node = self.node_for(path, fh)
        return bytes(node.data[offset:offset + size])

    def write(self, path, data, offset, fh):
        if path == CONTROL and not fh:
            command = data.strip().decode()
            if command == "cut":
                self.cut()
            elif command == "eio off":
                self.failing = None
            elif command.startswith("eio /"):
                self.failing = command[4:].rstrip("/")
            else:
                raise FuseOSError(errno.EINVAL)
            return len(data)
        self.check_failing(path)
        node = self.node_for(path, fh)
        end = len(node.data)
        if offset > end:
            node.data.extend(bytes(offset - end))
        node.touch(min(offset, end))
        node.data[offset:offset + len(data)] = data
        return len(data)

    def truncate(self, path, length, fh=None):
        if path == CONTROL:
            return 0
        self.check_failing(path)
        node = self.node_for(path, fh)
        end = len(node.data)
        if length < end:
            del node.data[length:]
        else:
            node.data.extend(bytes(length - end))
        node.touch(min(length, end))
        return 0

    def fsync(self, path, datasync, fh):
        if path == CONTROL and not fh:
            return 0
        self.check_failing(path)
        self.node_for(path, fh).sync_data()
        self.syncs += 1
        return 0

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        self.handles.pop(fh, None)
        return 0


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    FUSE(ForgetfulFS(), sys.argv[1], foreground=True, nothreads=True, direct_io=True, hard_remove=True,
         attr_timeout=0, entry_timeout=0, negative_timeout=0, default_permissions=False)


if __name__ == "__main__":
    main()
