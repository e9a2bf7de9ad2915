import MeltWatchCore

/// A scalar JSON value a mapping compares against (a quality rule's good values).
public enum JSONScalar: Sendable, Equatable, Hashable {
    case string(String)
    case number(Double)
    case bool(Bool)
}

/// How a `json` gateway's payloads map to readings (contract section 3, `format: json`): where
/// the readings are, and where each one keeps its tag, value, time and quality.
///
/// Paths are field names from the outside in (the config's dotted `a.b.c`, already split); all
/// but ``readings`` are relative to each reading object. A path whose fields are absent from a
/// reading (or pass through a value that is not an object) makes the field missing.
public struct JSONMapping: Sendable, Equatable {
    /// Where a reading's tag comes from.
    public enum TagSource: Sendable, Equatable {
        /// A field of the reading: a string, or a number taken as written (`17` is the tag `"17"`).
        case field([String])
        /// The MQTT topic the message arrived on (`tag: "{topic}"`): one signal per topic.
        case topic
    }

    /// How the time field is written.
    public enum TimeFormat: String, Sendable, Equatable, CaseIterable {
        /// Non-negative integer milliseconds since the Unix epoch.
        case epochMilliseconds = "epoch_ms"
        /// Non-negative seconds since the Unix epoch, possibly fractional (`1763884800.123`);
        /// digits beyond milliseconds are truncated, as RFC 3339 fractions are.
        case epochSeconds = "epoch_s"
        /// An RFC 3339 date-time string.
        case rfc3339
    }

    /// Which values of a field mean good quality; anything else, or the field's absence, is bad.
    public struct QualityRule: Sendable, Equatable {
        /// The quality field's path within a reading.
        public var field: [String]
        /// The values that mean good (a string, a number compared by value, or a boolean).
        public var good: [JSONScalar]

        /// Creates a rule.
        public init(field: [String], good: [JSONScalar]) {
            self.field = field
            self.good = good
        }
    }

    /// Path of the array holding the readings, from the payload's root; nil: the payload is one
    /// reading; empty: the payload itself is the array.
    public var readings: [String]?
    /// Where the tag is.
    public var tag: TagSource
    /// Path of the value (a number or boolean on a bound tag, anything on an unbound one).
    public var value: [String]
    /// Path of the event time.
    public var time: [String]
    /// How the time is written.
    public var timeFormat: TimeFormat
    /// Optional quality rule; without one every reading is good.
    public var quality: QualityRule?

    /// Creates a mapping. Empty field paths never match (every reading then lacks that field):
    /// `meltwatch check` is where a mapping is validated.
    public init(
        readings: [String]? = nil, tag: TagSource, value: [String], time: [String],
        timeFormat: TimeFormat = .epochMilliseconds, quality: QualityRule? = nil
    ) {
        self.readings = readings
        self.tag = tag
        self.value = value
        self.time = time
        self.timeFormat = timeFormat
        self.quality = quality
    }
}

/// Which field of a reading a path leads to.
enum MappedSlot: UInt8 {
    case tag = 1, value = 2, time = 4, quality = 8
}

/// A reading's field paths as a tree of key segments: one walk over a reading object finds all
/// of them, descending only into objects on some path and skipping (validating) everything else.
struct FieldTree: Sendable {
    struct Node: Sendable {
        var key: [UInt8]
        var children: [Int] = []
        /// ``MappedSlot`` bits of the fields that end here.
        var slots: UInt8 = 0
    }

    /// Node 0 is the reading object itself.
    private(set) var nodes = [Node(key: [])]

    mutating func add(_ path: [String], _ slot: MappedSlot) {
        guard !path.isEmpty else { return }
        var node = 0
        for segment in path {
            let key = Array(segment.utf8)
            if let existing = nodes[node].children.first(where: { nodes[$0].key == key }) {
                node = existing
            } else {
                nodes.append(Node(key: key))
                nodes[node].children.append(nodes.count - 1)
                node = nodes.count - 1
            }
        }
        nodes[node].slots |= slot.rawValue
    }

    /// The child of `node` named `key`: its position among the children (a duplicate-tracking
    /// bit; a node has at most four children, one per path) and its index.
    @inline(__always)
    func child(of node: Int, named key: UnsafeRawBufferPointer) -> (position: Int, node: Int)? {
        nodes.withUnsafeBufferPointer { nodes in
            let children = nodes[node].children
            for position in children.indices {
                let c = children[position]
                let equal = nodes[c].key.withUnsafeBytes { $0.count == key.count && compareBytes($0, key) == 0 }
                if equal { return (position, c) }
            }
            return nil
        }
    }

    /// ``MappedSlot`` bits of the fields that end at `node`.
    @inline(__always) func slots(_ node: Int) -> UInt8 { nodes[node].slots }

    /// Whether some path goes on below `node`.
    @inline(__always) func hasChildren(_ node: Int) -> Bool { !nodes[node].children.isEmpty }
}

/// A ``JSONMapping`` compiled for the parser: paths as bytes and a tree, good values by type,
/// field names joined for messages.
struct MappedPlan: Sendable {
    let readingsPath: [[UInt8]]?
    let tree: FieldTree
    let tagFromTopic: Bool
    let timeFormat: JSONMapping.TimeFormat
    let hasQuality: Bool
    let goodStrings: [[UInt8]]
    let goodNumbers: [Double]
    let goodBools: [Bool]
    let readingsName: String
    let tagName: String
    let valueName: String
    let timeName: String

    init(_ m: JSONMapping) {
        readingsPath = m.readings.map { $0.map { Array($0.utf8) } }
        var tree = FieldTree()
        if case .field(let path) = m.tag { tree.add(path, .tag) }
        tree.add(m.value, .value)
        tree.add(m.time, .time)
        if let q = m.quality { tree.add(q.field, .quality) }
        self.tree = tree
        if case .topic = m.tag { tagFromTopic = true } else { tagFromTopic = false }
        timeFormat = m.timeFormat
        hasQuality = m.quality != nil
        var strings: [[UInt8]] = []
        var numbers: [Double] = []
        var bools: [Bool] = []
        for g in m.quality?.good ?? [] {
            switch g {
            case .string(let s): strings.append(Array(s.utf8))
            case .number(let d): numbers.append(d)
            case .bool(let b): bools.append(b)
            }
        }
        goodStrings = strings
        goodNumbers = numbers
        goodBools = bools
        readingsName = (m.readings ?? []).joined(separator: ".")
        if case .field(let path) = m.tag { tagName = path.joined(separator: ".") } else { tagName = "{topic}" }
        valueName = m.value.joined(separator: ".")
        timeName = m.time.joined(separator: ".")
    }
}

/// What one reading object held at the mapping's paths.
struct MappedFields {
    struct Found {
        var value: ScannedValue
        /// Where the value starts, for messages.
        var at: Int
    }

    var tag: Found?
    var value: Found?
    var time: Found?
    var quality: Found?

    @inline(__always) mutating func set(_ slots: UInt8, _ found: Found) {
        if slots & MappedSlot.tag.rawValue != 0 { tag = found }
        if slots & MappedSlot.value.rawValue != 0 { value = found }
        if slots & MappedSlot.time.rawValue != 0 { time = found }
        if slots & MappedSlot.quality.rawValue != 0 { quality = found }
    }
}
