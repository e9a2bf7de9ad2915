/// An MQTT subscription filter (`kepware/baotou/#`, `spBv1.0/Baotou/#`, `site/+/scan`), matched
/// against a published topic's raw bytes as the broker matches it.
public struct TopicFilter: Sendable, Equatable, CustomStringConvertible {
    /// One level of a filter.
    public enum Level: Sendable, Equatable {
        case literal([UInt8])
        /// `+`: exactly one level, whatever it holds.
        case single
        /// `#`: this level and every one below it (zero or more: `a/#` matches `a`).
        case rest
    }

    public let levels: [Level]
    /// The filter as written.
    public let text: String

    /// Parses a filter; nil when MQTT would refuse it (empty, `#` not alone in the last level, `+`
    /// sharing a level, NUL) or when it starts with `$` (the broker's own topics).
    public init?(_ text: String) {
        guard !text.isEmpty, !text.utf8.contains(0), text.utf8.first != UInt8(ascii: "$") else { return nil }
        let parts = text.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        var levels: [Level] = []
        for (i, part) in parts.enumerated() {
            if part.elementsEqual("#".utf8) {
                guard i == parts.count - 1 else { return nil }
                levels.append(.rest)
            } else if part.elementsEqual("+".utf8) {
                levels.append(.single)
            } else {
                guard !part.contains(UInt8(ascii: "#")), !part.contains(UInt8(ascii: "+")) else { return nil }
                levels.append(.literal(Array(part)))
            }
        }
        self.levels = levels
        self.text = text
    }

    public var description: String { text }

    /// Whether a published topic matches. Topics starting with `$` never match a wildcard first level.
    public func matches(_ topic: UnsafeRawBufferPointer) -> Bool {
        var level = 0
        var start = 0
        var i = 0
        let n = topic.count
        while true {
            guard level < levels.count else { return false }
            // The end of this topic level.
            var end = start
            while end < n, topic[end] != UInt8(ascii: "/") { end += 1 }
            switch levels[level] {
            case .rest:
                return !(level == 0 && n > 0 && topic[0] == UInt8(ascii: "$"))
            case .single:
                if level == 0, n > 0, topic[0] == UInt8(ascii: "$") { return false }
            case .literal(let bytes):
                guard bytes.count == end - start else { return false }
                for k in 0..<bytes.count where bytes[k] != topic[start + k] { return false }
            }
            level += 1
            i = end
            if i >= n {
                // The topic ends here: a match if the filter ends too, or goes on with only `#`.
                return level == levels.count || (level == levels.count - 1 && levels[level] == .rest)
            }
            start = i + 1
        }
    }

    /// Whether a published topic matches.
    public func matches(_ topic: String) -> Bool {
        var topic = topic
        return topic.withUTF8 { matches(UnsafeRawBufferPointer($0)) }
    }

    /// Whether some topic matches both filters (two routes that would both claim a message).
    public func overlaps(_ other: TopicFilter) -> Bool {
        let a = levels, b = other.levels
        var i = 0
        while i < a.count && i < b.count {
            switch (a[i], b[i]) {
            case (.rest, _), (_, .rest): return true
            case (.literal(let x), .literal(let y)) where x != y: return false
            default: i += 1
            }
        }
        if a.count == b.count { return true }
        // One filter is longer: the shorter one only matches the longer's topics through `a/#` ≡ `a`.
        let longer = a.count > b.count ? a : b
        return i == longer.count - 1 && longer[i] == .rest
    }
}
