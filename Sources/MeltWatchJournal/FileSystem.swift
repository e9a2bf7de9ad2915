#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which one, on what, and `errno`.
public struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The call (`open`, `write`, `fdatasync`, …).
    public var call: String
    /// The file or directory it acted on.
    public var path: String
    public var errno: Int32

    /// Creates an error.
    public init(call: String, path: String, errno: Int32) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    public var description: String { "\(call)(\(path)): \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// The system calls the journal makes: the seam where tests inject EINTR, short writes, ENOSPC, EIO
/// and fsync failures (style: swift-system's mockable syscalls). Implementations return what the
/// call returned; they do not retry (the journal decides what a failure means).
public protocol JournalFileSystem: Sendable {
    /// Opens `path`: for appending (create if missing, exclusive when `exclusive`) or read-only.
    func open(_ path: String, write: Bool, create: Bool, exclusive: Bool) throws(SystemCallError) -> Int32
    /// Writes up to `bytes.count` bytes at the file's offset; returns how many were written (may be short).
    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SystemCallError) -> Int
    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read (0 at end of file).
    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String) throws(SystemCallError) -> Int
    /// Flushes the file's data (and the metadata needed to read it) to stable storage.
    func dataSync(_ fd: Int32, path: String) throws(SystemCallError)
    /// Flushes a directory, so a file created or removed in it survives a crash.
    func syncDirectory(_ path: String) throws(SystemCallError)
    /// Cuts the file at `length` bytes.
    func truncate(_ fd: Int32, to length: Int64, path: String) throws(SystemCallError)
    /// The file's size in bytes.
    func size(_ fd: Int32, path: String) throws(SystemCallError) -> Int64
    func close(_ fd: Int32)
    /// The names in a directory (not `.` and `..`).
    func list(_ directory: String) throws(SystemCallError) -> [String]
    /// Creates a directory (and missing parents); no error when it exists.
    func makeDirectory(_ path: String) throws(SystemCallError)
    func remove(_ path: String) throws(SystemCallError)
    /// A file's size in bytes and whether it is a directory (`lstat`: a symbolic link is not followed).
    func status(_ path: String) throws(SystemCallError) -> (bytes: Int64, isDirectory: Bool)
    /// The bytes an unprivileged writer may still use on the file system holding `path` (`statvfs`).
    func freeBytes(_ path: String) throws(SystemCallError) -> UInt64
}

extension JournalFileSystem {
    /// The real `lstat`: test doubles that only inject write faults need not say it again.
    public func status(_ path: String) throws(SystemCallError) -> (bytes: Int64, isDirectory: Bool) {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw SystemCallError(call: "lstat", path: path, errno: Glibc.errno) }
        return (Int64(st.st_size), (st.st_mode & S_IFMT) == S_IFDIR)
    }

    /// The real `statvfs`: free blocks available to unprivileged users × fragment size.
    public func freeBytes(_ path: String) throws(SystemCallError) -> UInt64 {
        var vfs = statvfs()
        guard statvfs(path, &vfs) == 0 else { throw SystemCallError(call: "statvfs", path: path, errno: Glibc.errno) }
        return UInt64(vfs.f_bavail) * UInt64(vfs.f_frsize)
    }

    /// The bytes of every file under `path`, subdirectories included (sizes as `ls -l` shows them).
    func totalBytes(under path: String) throws(SystemCallError) -> UInt64 {
        let names: [String]
        do {
            names = try list(path)
        } catch where error.errno == ENOENT {
            return 0
        }
        var total: UInt64 = 0
        for name in names {
            let child = path + "/" + name
            let s: (bytes: Int64, isDirectory: Bool)
            do {
                s = try status(child)
            } catch where error.errno == ENOENT {
                continue  // removed while we looked (the outbox compacts, torn files are set aside)
            }
            total += s.isDirectory ? try totalBytes(under: child) : UInt64(max(0, s.bytes))
        }
        return total
    }
}

/// The real file system.
public struct POSIXFileSystem: JournalFileSystem {
    /// The real system calls.
    public init() {}

    public func open(_ path: String, write: Bool, create: Bool, exclusive: Bool) throws(SystemCallError) -> Int32 {
        var flags: Int32 = O_CLOEXEC | (write ? O_WRONLY | O_APPEND : O_RDONLY)
        if create { flags |= O_CREAT }
        if exclusive { flags |= O_EXCL }
        let fd = Glibc.open(path, flags, 0o640)
        guard fd >= 0 else { throw SystemCallError(call: "open", path: path, errno: Glibc.errno) }
        return fd
    }

    public func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SystemCallError) -> Int {
        let n = Glibc.write(fd, bytes.baseAddress, bytes.count)
        guard n >= 0 else { throw SystemCallError(call: "write", path: path, errno: Glibc.errno) }
        return n
    }

    public func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String) throws(SystemCallError) -> Int {
        let n = pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
        guard n >= 0 else { throw SystemCallError(call: "pread", path: path, errno: Glibc.errno) }
        return n
    }

    public func dataSync(_ fd: Int32, path: String) throws(SystemCallError) {
        guard fdatasync(fd) == 0 else { throw SystemCallError(call: "fdatasync", path: path, errno: Glibc.errno) }
    }

    public func syncDirectory(_ path: String) throws(SystemCallError) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError(call: "open", path: path, errno: Glibc.errno) }
        defer { Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw SystemCallError(call: "fsync", path: path, errno: Glibc.errno) }
    }

    public func truncate(_ fd: Int32, to length: Int64, path: String) throws(SystemCallError) {
        guard ftruncate(fd, off_t(length)) == 0 else { throw SystemCallError(call: "ftruncate", path: path, errno: Glibc.errno) }
    }

    public func size(_ fd: Int32, path: String) throws(SystemCallError) -> Int64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemCallError(call: "fstat", path: path, errno: Glibc.errno) }
        return Int64(st.st_size)
    }

    public func close(_ fd: Int32) { _ = Glibc.close(fd) }

    public func list(_ directory: String) throws(SystemCallError) -> [String] {
        guard let dir = opendir(directory) else { throw SystemCallError(call: "opendir", path: directory, errno: Glibc.errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func makeDirectory(_ path: String) throws(SystemCallError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o750) != 0 && Glibc.errno != EEXIST {
                throw SystemCallError(call: "mkdir", path: prefix, errno: Glibc.errno)
            }
        }
    }

    public func remove(_ path: String) throws(SystemCallError) {
        guard unlink(path) == 0 else { throw SystemCallError(call: "unlink", path: path, errno: Glibc.errno) }
    }
}

/// `EINTR` and `EIO`, spelled once for the code that decides what they mean.
let EINTR_: Int32 = EINTR
let EIO_: Int32 = EIO
