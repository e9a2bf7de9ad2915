#if canImport(Glibc)
import Glibc
#endif

/// Runs work that recurses as deep as its input on a thread with a stack sized for it.
enum DeepStack {
    /// Runs `body` on a new thread with a stack of `stackBytes` and waits for it to finish.
    ///
    /// Only the pages the recursion touches are ever committed, so a generous size costs address
    /// space, not memory. Falls back to the calling thread if no such thread can be made.
    static func run<R, E: Error>(stackBytes: Int, _ body: @escaping () throws(E) -> R) throws(E) -> R {
        let job = Job<R, E>(body)
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        var thread = pthread_t()
        let context = Unmanaged.passRetained(job).toOpaque()
        guard pthread_attr_setstacksize(&attributes, stackBytes) == 0,
              pthread_create(&thread, &attributes, { raw in
                  Unmanaged<Performing>.fromOpaque(raw!).takeRetainedValue().perform()
                  return nil
              }, context) == 0
        else {
            Unmanaged<Job<R, E>>.fromOpaque(context).release()
            return try body()
        }
        pthread_join(thread, nil)
        return try job.result!.get()
    }

    /// The closure and, once the thread has run it, its result. The thread writes `result` and
    /// exits; `pthread_join` orders that write before the caller's read.
    private final class Job<R, E: Error>: Performing {
        let body: () throws(E) -> R
        var result: Result<R, E>?

        init(_ body: @escaping () throws(E) -> R) { self.body = body }

        override func perform() {
            do throws(E) { result = .success(try body()) } catch { result = .failure(error) }
        }
    }
}

/// What the thread entry point calls, without knowing the job's generic parameters.
private class Performing {
    func perform() {}
}

/// How deep a config's YAML can nest, read from its bytes before any YAML parsing.
struct Nesting {
    /// Stack one level of YAML nesting may take: Yams' loadNode + loadMapping frames, with room for
    /// AddressSanitizer's larger ones (under 3 KiB there).
    static let stackBytesPerLevel = 8 << 10
    /// A real config has a few indicators per line: 256 Ki levels is a 2 GiB stack reservation,
    /// of which only what the tree really uses is ever touched.
    static let maxLevels = 256 << 10
    /// Real configs nest brackets two or three deep.
    static let maxFlowDepth = 1_000

    /// Upper bound of the nesting levels: each needs an indicator (`[`, `{`, `-`, `?`, `:`) of its own.
    private(set) var levels = 0
    /// Where `[`/`{` first nest deeper than ``maxFlowDepth``, counting brackets inside quotes and
    /// comments too (so a bound, not YAML's exact depth).
    private(set) var tooDeep: (line: Int, column: Int)?

    init(_ bytes: [UInt8]) {
        var depth = 0
        var line = 1
        var column = 1
        for (i, b) in bytes.enumerated() {
            switch b {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                levels += 1
                depth += 1
                if depth > Self.maxFlowDepth && tooDeep == nil { tooDeep = (line, column) }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth = max(0, depth - 1)
            case UInt8(ascii: "-"), UInt8(ascii: "?"), UInt8(ascii: ":"):
                levels += 1
            default:
                break
            }
            // Columns count scalars, as libyaml does: UTF-8 continuation bytes do not advance.
            if b == 0x0A || (b == 0x0D && (i + 1 == bytes.count || bytes[i + 1] != 0x0A)) {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 && b != 0x0D {
                column += 1
            }
        }
        levels += 1
    }
}
