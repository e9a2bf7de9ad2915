/// Reading a segment through a small reused window instead of loading it whole.
///
/// Why: `replay`, `report` and `journal export` read segments of up to 64 MiB. Loading each into a
/// fresh array cost a zero fill and a page fault per 4 KiB page (the allocation is mmapped and
/// unmapped again for every segment), about 8 % of replay's time, and the scan then re-read the
/// 64 MiB from memory. A window of a few MiB is faulted in once per read and stays in cache while
/// its frames are checked, decoded and evaluated.
///
/// Only the common path is streamed: frames that check out. The first frame that does not (a torn
/// tail, damage, a header that cannot be read) hands over to ``JournalSegments/scan(_:resume:body:)``
/// on the whole segment, from that frame on, so every verdict and its offset come from the same code
/// as before.
extension JournalSegments {
    /// Window size: a few hundred messages per read, and small enough to stay in a core's L2 cache
    /// (a 2 MiB window that holds every valid frame without growing measured no faster).
    /// A frame larger than the window grows it (valid frames are at most
    /// `frameHeaderBytes + maxBodyBytes + 7` bytes).
    static let streamWindowBytes = 256 * 1024

    /// Walks the frames of the segment at `path` like ``scan(_:resume:body:)``, reading it through
    /// `window` (reused between segments; grown to `windowBytes` on first use). Tests pass small
    /// windows so that frames straddle window ends.
    ///
    /// Reads only the bytes the file had when opened, as ``load(_:fileSystem:limit:)`` does.
    /// File system errors are thrown as ``JournalError/system(_:)``; `body`'s errors pass unchanged.
    static func stream(_ path: String, fileSystem: any JournalFileSystem, window: inout [UInt8],
                       windowBytes: Int = streamWindowBytes,
                       body: (Int, JournalRecordView) throws -> Void) throws -> Scan? {
        // At least the header, which is read from the first window.
        let windowBytes = max(windowBytes, JournalFormat.headerBytes)
        if window.count < windowBytes { window = [UInt8](repeating: 0, count: windowBytes) }
        let fd: Int32
        do { fd = try fileSystem.open(path, write: false, create: false, exclusive: false) } catch { throw JournalError.system(error) }
        var open = true
        defer { if open { fileSystem.close(fd) } }
        var size = 0
        do { size = Int(try fileSystem.size(fd, path: path)) } catch { throw JournalError.system(error) }
        // File offset of window[0], bytes valid in the window, and the next frame's file offset.
        var base = 0
        var filled = 0
        var offset = JournalFormat.headerBytes
        var records = 0
        var endOfFile = false

        /// Moves the unread rest (from `offset`) to the window's front and reads more after it.
        func refill() throws(JournalError) {
            let keep = filled - (offset - base)
            if keep > 0 && offset > base {
                window.withUnsafeMutableBytes { w in
                    guard let p = w.baseAddress else { return }
                    p.copyMemory(from: p + (offset - base), byteCount: keep)  // memmove: the ranges may overlap
                }
            }
            base = offset
            filled = max(keep, 0)
            while filled < window.count && base + filled < size {
                let want = min(window.count - filled, size - (base + filled))
                let at = base + filled
                let read = window.withUnsafeMutableBytes { w in
                    Result { () throws(SystemCallError) -> Int in
                        try fileSystem.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: w[filled..<filled + want]),
                                            at: Int64(at), path: path)
                    }
                }
                let n: Int
                switch read {
                case .success(let count): n = count
                case .failure(let error): throw .system(error)
                }
                if n == 0 {
                    size = base + filled  // shorter than its size said: read what is there, as `load` does
                    break
                }
                filled += n
            }
            endOfFile = base + filled >= size
        }

        offset = 0
        try refill()
        let header = window.withUnsafeBytes { JournalFormat.parseHeader(UnsafeRawBufferPointer(rebasing: $0[0..<filled])) }
        guard header != nil else { return nil }
        offset = JournalFormat.headerBytes

        while true {
            let step: (next: Int, done: Bool)? = try window.withUnsafeBytes { w in
                let b = UnsafeRawBufferPointer(rebasing: w[0..<filled])
                let local = offset - base
                switch JournalFormat.frame(at: local, in: b) {
                case .record(let range, let next):
                    try body(offset, JournalFormat.view(UnsafeRawBufferPointer(rebasing: b[range]))!)
                    return (base + next, false)
                case .end where endOfFile:
                    return (offset, true)
                case .end, .incomplete:
                    return endOfFile ? nil : (offset, false)  // need more bytes (or, at the end, a verdict)
                case .corrupt:
                    return nil
                }
            }
            guard let step else { break }
            if step.done { return Scan(records: records, validEnd: offset) }
            if step.next != offset {
                offset = step.next
                records += 1
                continue
            }
            // The frame at `offset` runs past the window: slide and read on.
            let before = filled - (offset - base)
            try refill()
            if filled <= before && !endOfFile {
                // The window holds all it can from here: grow it for a valid length, else give up.
                let length = window.withUnsafeBytes { Int($0.loadLE(UInt32.self, at: offset - base)) }
                let need = JournalFormat.frameHeaderBytes + length + 7
                guard length > 0, length <= JournalFormat.maxBodyBytes, need > window.count else { break }
                window += [UInt8](repeating: 0, count: need - window.count)
                try refill()
            }
        }
        // Not a clean frame: the whole-segment scan decides, from here, exactly as it always has.
        fileSystem.close(fd)
        open = false
        let bytes: [UInt8]
        do { bytes = try load(path, fileSystem: fileSystem, limit: size) } catch { throw JournalError.system(error) }
        return try scan(bytes, resume: (offset, records), body: body)
    }
}
