import MeltWatchCore

/// EMQ Neuron's MQTT upload (contract section 3, `neuron`), in either of its two forms:
/// values-format `{"timestamp":…,"node":"n","group":"g","values":{"FT101":12.5},"errors":{"FT102":3}}`
/// and tags-format `{"timestamp":…,"node":"n","group":"g","tags":[{"name":"FT101","value":12.5},{"name":"FT102","error":3}]}`.
///
/// The tag is `<node>/<group>/<name>`; every reading's event time is the top-level `timestamp`
/// (Neuron samples a group at once). A value is a finite number or boolean on a bound tag; Neuron
/// also publishes strings, arrays and bytes, which are fine on tags MeltWatch does not read.
///
/// An error code (in `errors`, or an entry's `error`) is a reading of quality `bad` with the value
/// `.number(0)`: the code says why the driver could not read the tag, not what the tag is, so it
/// must not reach a rule as a measurement; the bad quality is what the engine acts on (health
/// alarms), and 0 is merely a defined filler. A tags-format entry with both `value` and `error` is
/// an error. The code itself must be a number on a bound tag (`wrong_type` otherwise).
///
/// A name listed twice in one message (twice in `values`, in both `values` and `errors`, twice in
/// `tags`) is rejected `duplicate_key`: all readings share one timestamp, so two of the same tag
/// would contradict each other, and Neuron never sends that.
///
/// Holds reusable buffers (the tag bytes being built, the names met) so that a message allocates
/// nothing but its readings; they carry nothing from one message to the next.
public final class NeuronFormat: GatewayFormat {
    public var formatName: String { "neuron" }
    /// The tags bound to signals (`<node>/<group>/<name>`).
    public let tags: TagTable
    public let maxPayloadBytes: Int
    /// How far `timestamp` may lie after the receiver's `now` before `future_timestamp`.
    public let maxFutureSkewMilliseconds: Int64
    /// Deepest container nesting allowed (payload 1, `values`/`tags` 2, a tags entry 3): clamped to 3...64.
    public let maxNestingDepth: Int
    private var buffers = NeuronBuffers()

    /// Creates the format for one plant's bound tags.
    public init(
        tags: TagTable, maxPayloadBytes: Int = 65_536, maxFutureSkewMilliseconds: Int64 = 300_000,
        maxNestingDepth: Int = 32
    ) {
        self.tags = tags
        self.maxPayloadBytes = maxPayloadBytes
        self.maxFutureSkewMilliseconds = max(0, maxFutureSkewMilliseconds)
        self.maxNestingDepth = min(max(maxNestingDepth, 3), 64)
    }

    public func decode(
        topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, now: EventTime,
        into out: inout [Reading], effects: inout GatewayEffects
    ) -> Result<DecodeOutcome, DecodeError> {
        decodeGatewayJSON(payload: payload, maxPayloadBytes: maxPayloadBytes, maxDepth: maxNestingDepth, into: &out) {
            (parser, out) throws(DecodeError) in
            try parser.parseNeuron(
                tags: tags, now: now, maxFutureSkew: maxFutureSkewMilliseconds, buffers: &buffers, into: &out
            )
        }
    }
}

/// Buffers a ``NeuronFormat`` reuses from message to message (capacity only, never content).
struct NeuronBuffers {
    /// `<node>/<group>/` followed by the name being looked up.
    var key: [UInt8] = []
    /// The names met in this message, for the duplicate check.
    var names: [NameRef] = []
}

/// Neuron's top-level keys.
enum NeuronKey: UInt32, GatewayKey {
    case other = 0, timestamp = 1, node = 2, group = 4, values = 8, errors = 16, tags = 32

    static func classify(_ k: UnsafeRawBufferPointer) -> NeuronKey {
        switch k.count {
        case 4: equalsLiteral(k, "node") ? .node : equalsLiteral(k, "tags") ? .tags : .other
        case 5: equalsLiteral(k, "group") ? .group : .other
        case 6: equalsLiteral(k, "values") ? .values : equalsLiteral(k, "errors") ? .errors : .other
        case 9: equalsLiteral(k, "timestamp") ? .timestamp : .other
        default: .other
        }
    }

    var bit: UInt32 { rawValue }
    var name: String {
        switch self {
        case .timestamp: "timestamp"
        case .node: "node"
        case .group: "group"
        case .values: "values"
        case .errors: "errors"
        case .tags: "tags"
        case .other: "?"
        }
    }

    /// The keys every message must have (besides one of `values`, `errors`, `tags`).
    static let required: [NeuronKey] = [.timestamp, .node, .group]
}

/// The keys of one entry of Neuron's `tags`.
enum NeuronTagKey: UInt32, GatewayKey {
    case other = 0, name = 1, value = 2, error = 4

    static func classify(_ k: UnsafeRawBufferPointer) -> NeuronTagKey {
        switch k.count {
        case 4: equalsLiteral(k, "name") ? .name : .other
        case 5: equalsLiteral(k, "value") ? .value : equalsLiteral(k, "error") ? .error : .other
        default: .other
        }
    }

    var bit: UInt32 { rawValue }
    var name: String {
        switch self {
        case .name: "name"
        case .value: "value"
        case .error: "error"
        case .other: "?"
        }
    }
}

/// One Neuron message's parse state besides the cursor.
struct NeuronParse {
    let tags: TagTable
    var node: StringToken?
    var group: StringToken?
    /// `buffers.key` holds `<node>/<group>/` up to here; nil until both are known.
    var prefixLength: Int?
    var unknownTags = 0
    /// Entries of `values`, `errors` and `tags` met, bound or not.
    var entries = 0
}

extension PayloadParser {
    /// Parses a Neuron payload. Readings are appended as `values`/`errors`/`tags` are read and get
    /// the top-level `timestamp` once the whole object is read (it may come last).
    ///
    /// The tag needs `node` and `group`, which Neuron writes before the readings; should a
    /// message put them after, the reading containers are skipped (validated) and read again at
    /// their recorded offsets afterwards, so any key order is understood at the cost of a second look.
    mutating func parseNeuron(
        tags: TagTable, now: EventTime, maxFutureSkew: Int64, buffers: inout NeuronBuffers, into out: inout [Reading]
    ) throws(DecodeError) -> DecodeOutcome {
        let start = out.count
        buffers.names.removeAll(keepingCapacity: true)
        var state = NeuronParse(tags: tags)
        var time: EventTime?
        var timeAt = 0
        var deferred: [(key: NeuronKey, at: Int)] = []
        var top = KeyTracker(open: 0, depth: 1)
        if let opened = try openPayloadObject() {
            top = opened
            repeat {
                let key = try memberKey(&top, as: NeuronKey.self)
                let at = cursor.index
                switch key {
                case .timestamp:
                    timeAt = at
                    time = epochMilliseconds(try cursor.scanValue(depth: 1), "field \"timestamp\" at byte \(at)")
                case .node, .group:
                    switch try cursor.scanValue(depth: 1) {
                    case .string(let s):
                        if key == .node { state.node = s } else { state.group = s }
                    case .nonFinite: break
                    case let other: noteWrongType(key.name, at, "a string", other)
                    }
                case .values, .errors, .tags:
                    if state.prefixLength == nil, let node = state.node, let group = state.group {
                        buildPrefix(node: node, group: group, state: &state, buffers: &buffers)
                    }
                    if state.prefixLength != nil {
                        try parseNeuronReadings(key, state: &state, buffers: &buffers, into: &out)
                    } else {
                        // Rare: `node` or `group` still to come. Validate now, read afterwards.
                        if deferred.isEmpty { deferred.reserveCapacity(3) }
                        deferred.append((key, at))
                        _ = try cursor.scanValue(depth: 1)
                    }
                case .other:
                    _ = try cursor.scanValue(depth: 1)
                }
            } while !(try cursor.endOfMember("',' or '}' after a member"))
            try cursor.expectEndOfPayload()
            try finishObject(top, inside: "the payload")
        }
        if !deferred.isEmpty, let node = state.node, let group = state.group {
            buildPrefix(node: node, group: group, state: &state, buffers: &buffers)
            let end = cursor.index
            for (key, at) in deferred {
                cursor.index = at
                try parseNeuronReadings(key, state: &state, buffers: &buffers, into: &out)
            }
            cursor.index = end
        }
        for key in NeuronKey.required where top.known & key.bit == 0 {
            noteMissing(key.name, "(neuron)")
        }
        if top.known & (NeuronKey.values.bit | NeuronKey.errors.bit | NeuronKey.tags.bit) == 0 {
            noteMissing("values", "(neuron: neither \"values\", \"errors\" nor \"tags\" is present)")
        } else if cursor.pending == nil && state.entries == 0 {
            cursor.note(DecodeError(reason: .emptyBatch, detail: "the message carries no tag (neuron)"))
        }
        if cursor.pending == nil, let duplicate = try duplicateName(&buffers.names) { cursor.note(duplicate) }
        if let time {
            checkFuture(time, now: now, maxFutureSkew: maxFutureSkew, "field \"timestamp\" at byte \(timeAt)")
            for i in start..<out.count { out[i].time = time }
        }
        return DecodeOutcome(readings: out.count - start, unknownTags: state.unknownTags)
    }

    /// Writes `<node>/<group>/` into the key buffer.
    private mutating func buildPrefix(node: StringToken, group: StringToken, state: inout NeuronParse, buffers: inout NeuronBuffers) {
        buffers.key.removeAll(keepingCapacity: true)
        appendContent(node, to: &buffers.key)
        buffers.key.append(UInt8(ascii: "/"))
        appendContent(group, to: &buffers.key)
        buffers.key.append(UInt8(ascii: "/"))
        state.prefixLength = buffers.key.count
    }

    /// Appends a string's (unescaped) content to `buffer`.
    private func appendContent(_ s: StringToken, to buffer: inout [UInt8]) {
        if s.escaped {
            cursor.unescape(s, into: &buffer)
        } else {
            buffer.append(contentsOf: cursor.slice(s.start, s.end))
        }
    }

    /// The signal bound to `<node>/<group>/<name>`; records the name for the duplicate check.
    private mutating func lookUpName(_ name: StringToken, state: inout NeuronParse, buffers: inout NeuronBuffers) -> SignalID? {
        let prefix = state.prefixLength ?? 0
        buffers.key.removeSubrange(prefix...)
        appendContent(name, to: &buffers.key)
        state.entries += 1
        let (signal, hash) = buffers.key.withUnsafeBytes { key in
            (state.tags.signal(forTagBytes: key), hashBytes(UnsafeRawBufferPointer(rebasing: key[prefix...])))
        }
        buffers.names.append(NameRef(hash: hash, quote: name.quote))
        return signal
    }

    /// Reads `values`, `errors` or `tags` at the cursor (a member of the top-level object).
    private mutating func parseNeuronReadings(
        _ key: NeuronKey, state: inout NeuronParse, buffers: inout NeuronBuffers, into out: inout [Reading]
    ) throws(DecodeError) {
        let at = cursor.index
        let open = key == .tags ? UInt8(ascii: "[") : UInt8(ascii: "{")
        guard cursor.peek() == open else {
            let found = try cursor.scanValue(depth: 1)
            if case .nonFinite = found { return }
            noteWrongType(key.name, at, key == .tags ? "an array of tag objects" : "an object of name: value", found)
            return
        }
        guard try cursor.enter(parentDepth: 1) else { return }
        if key == .tags {
            var n = 0
            repeat {
                try parseNeuronTag(n, state: &state, buffers: &buffers, into: &out)
                n += 1
            } while !(try cursor.endOfElement("',' or ']' in \"tags\""))
            return
        }
        // `values` or `errors`: each member is a name and its value (or error code). Duplicate
        // names are found across both objects by `duplicateName`, so no per-object tracking here.
        repeat {
            guard cursor.peek() == UInt8(ascii: "\"") else { throw cursor.unexpected("a tag name") }
            let name = try cursor.scanString()
            cursor.skipWhitespace()
            try cursor.consume(UInt8(ascii: ":"), "':' after a tag name")
            cursor.skipWhitespace()
            let valueAt = cursor.index
            let scanned = try cursor.scanValue(depth: 2)
            let payload = cursor.bytes
            guard let signal = lookUpName(name, state: &state, buffers: &buffers) else {
                state.unknownTags += 1
                checkUnboundValue(scanned, "tag \(quotedString(name, in: payload)) at byte \(valueAt) in \"\(key.name)\"")
                continue
            }
            if key == .values {
                if let v = boundValue(scanned, "tag \(quotedString(name, in: payload)) at byte \(valueAt) in \"values\"") {
                    out.append(Reading(signal: signal, value: v, quality: .good, time: EventTime(milliseconds: 0)))
                }
            } else if errorCode(scanned, "tag \(quotedString(name, in: payload)) at byte \(valueAt) in \"errors\"") {
                out.append(Reading(signal: signal, value: .number(0), quality: .bad, time: EventTime(milliseconds: 0)))
            }
        } while !(try cursor.endOfMember("',' or '}' after a tag"))
    }

    /// One tags-format entry `{"name":…,"value":…}` or `{"name":…,"error":…}`, keys in any order.
    private mutating func parseNeuronTag(
        _ n: Int, state: inout NeuronParse, buffers: inout NeuronBuffers, into out: inout [Reading]
    ) throws(DecodeError) {
        let open = cursor.index
        guard cursor.peek() == UInt8(ascii: "{") else {
            let found = try cursor.scanValue(depth: 2)
            if case .nonFinite = found { return }
            cursor.note(DecodeError(
                reason: .wrongType, detail: "entry \(n) of \"tags\" at byte \(open): expected an object, found \(found.name)"
            ))
            return
        }
        var entry = KeyTracker(open: open, depth: 3)
        var name: StringToken?
        var value: ScannedValue?
        var error: ScannedValue?
        var valueAt = 0
        if try cursor.enter(parentDepth: 2) {
            repeat {
                let key = try memberKey(&entry, as: NeuronTagKey.self)
                let at = cursor.index
                let scanned = try cursor.scanValue(depth: 3)
                switch key {
                case .name:
                    switch scanned {
                    case .string(let s): name = s
                    case .nonFinite: break
                    case let other: noteWrongType("name", at, "a string", other)
                    }
                case .value:
                    value = scanned
                    if error == nil { valueAt = at }
                case .error:
                    error = scanned
                    valueAt = at
                case .other:
                    break
                }
            } while !(try cursor.endOfMember("',' or '}' in an entry of \"tags\""))
            try finishObject(entry, inside: "entry \(n) of \"tags\"")
        }
        guard entry.known & NeuronTagKey.name.bit != 0 else {
            noteMissing("name", "in entry \(n) of \"tags\" at byte \(open)")
            return
        }
        guard value != nil || error != nil else {
            noteMissing("value", "in entry \(n) of \"tags\" at byte \(open) (nor is there an \"error\")")
            return
        }
        guard let name else { return }  // wrongly typed: noted
        let payload = cursor.bytes
        guard let signal = lookUpName(name, state: &state, buffers: &buffers) else {
            state.unknownTags += 1
            if let v = error ?? value {
                checkUnboundValue(v, "tag \(quotedString(name, in: payload)) at byte \(valueAt) in \"tags\"")
            }
            return
        }
        if let error {
            if errorCode(error, "tag \(quotedString(name, in: payload)) at byte \(valueAt) in \"tags\"") {
                out.append(Reading(signal: signal, value: .number(0), quality: .bad, time: EventTime(milliseconds: 0)))
            }
        } else if let value, let v = boundValue(value, "tag \(quotedString(name, in: payload)) at byte \(valueAt) in \"tags\"") {
            out.append(Reading(signal: signal, value: v, quality: .good, time: EventTime(milliseconds: 0)))
        }
    }

    /// A bound tag's error code must be a (finite) number; true when it is.
    private mutating func errorCode(_ scanned: ScannedValue, _ field: @autoclosure () -> String) -> Bool {
        switch scanned {
        case .number(let t):
            guard let d = cursor.doubleValue(t), d.isFinite else {
                cursor.note(DecodeError(reason: .nonFinite, detail: "\(field()): error code \(cursor.text(t.start, t.end)) overflows a double"))
                return false
            }
            return true
        case .nonFinite:
            return false
        case let other:
            cursor.note(DecodeError(reason: .wrongType, detail: "\(field()): expected a numeric error code, found \(other.name)"))
            return false
        }
    }
}
