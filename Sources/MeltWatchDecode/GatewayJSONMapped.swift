import MeltWatchCore

/// Any other gateway's JSON, read through a ``JSONMapping`` (contract section 3, `json`).
///
/// The payload is one reading, or holds an array of readings at ``JSONMapping/readings``; within a
/// reading the mapping's paths give the tag (or the topic is the tag), the value, the event time
/// and optionally a quality field whose good values are listed (anything else is `bad`). Strictness
/// is the native decoder's: malformed JSON, NaN anywhere, duplicate keys in the objects on the
/// mapping's paths, depth, a missing required field or a wrongly typed one reject the message.
/// An unbound tag is counted under `unknown_tag`, whatever its value. The same tag twice in one
/// array gives two readings, each on its own time (as with Kepware: a gateway may batch samples).
///
/// Linear time and bounded stack whatever the input: the walk descends only into objects on a
/// mapping path (so at most as deep as the longest path, and never past the depth limit), and
/// everything else is skipped by the cursor's iterative validation.
///
/// Stateless: the class only holds its configuration.
public final class MappedJSONFormat: GatewayFormat {
    public var formatName: String { "json" }
    /// The mapping this format reads with.
    public let mapping: JSONMapping
    /// The tags bound to signals.
    public let tags: TagTable
    public let maxPayloadBytes: Int
    /// How far a reading's time may lie after the receiver's `now` before `future_timestamp`.
    public let maxFutureSkewMilliseconds: Int64
    /// Deepest container nesting allowed (the payload counts 1): clamped to 2...64.
    public let maxNestingDepth: Int
    private let plan: MappedPlan

    /// Creates the format for one mapping and one plant's bound tags.
    public init(
        mapping: JSONMapping, tags: TagTable, maxPayloadBytes: Int = 65_536,
        maxFutureSkewMilliseconds: Int64 = 300_000, maxNestingDepth: Int = 32
    ) {
        self.mapping = mapping
        self.tags = tags
        self.maxPayloadBytes = maxPayloadBytes
        self.maxFutureSkewMilliseconds = max(0, maxFutureSkewMilliseconds)
        self.maxNestingDepth = min(max(maxNestingDepth, 2), 64)
        self.plan = MappedPlan(mapping)
    }

    public func decode(
        topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, now: EventTime,
        into out: inout [Reading], effects: inout GatewayEffects
    ) -> Result<DecodeOutcome, DecodeError> {
        decodeGatewayJSON(payload: payload, maxPayloadBytes: maxPayloadBytes, maxDepth: maxNestingDepth, into: &out) {
            (parser, out) throws(DecodeError) in
            var context = MappedContext(
                tags: tags, now: now, maxFutureSkew: maxFutureSkewMilliseconds,
                topicSignal: plan.tagFromTopic ? tags.signal(forTagBytes: topic) : nil
            )
            return try parser.parseMapped(plan, &context, into: &out)
        }
    }
}

/// One mapped message's parse state besides the cursor.
struct MappedContext {
    let tags: TagTable
    let now: EventTime
    let maxFutureSkew: Int64
    /// With `tag: "{topic}"`: the signal the topic is bound to (looked up once per message).
    let topicSignal: SignalID?
    var unknownTags = 0
}

/// 10^0 … 10^19, every power of ten a `UInt64` holds.
private let powersOfTenU64: [UInt64] = (0...19).map { k in (0..<k).reduce(1) { p, _ in p * 10 } }

extension PayloadParser {
    /// Parses a payload through a mapping; readings are appended as each reading object ends.
    mutating func parseMapped(_ plan: MappedPlan, _ context: inout MappedContext, into out: inout [Reading]) throws(DecodeError) -> DecodeOutcome {
        let start = out.count
        cursor.skipWhitespace()
        if let path = plan.readingsPath, path.isEmpty {
            // The payload itself is the array of readings.
            try parseMappedArray(plan, parentDepth: 0, &context, into: &out)
            try cursor.expectEndOfPayload()
        } else if plan.readingsPath != nil {
            var found = false
            if cursor.peek() == UInt8(ascii: "{") {
                try findMappedReadings(plan, level: 0, parentDepth: 0, found: &found, &context, into: &out)
                try cursor.expectEndOfPayload()
            } else {
                try notAnObject()
            }
            if !found { noteMissing(plan.readingsName, "(the array of readings)") }
        } else if cursor.peek() == UInt8(ascii: "{") {
            // The payload is one reading.
            var fields = MappedFields()
            try readMappedFields(plan, node: 0, parentDepth: 0, into: &fields)
            try cursor.expectEndOfPayload()
            emitMapped(plan, fields, reading: nil, &context, into: &out)
        } else {
            try notAnObject()
        }
        return DecodeOutcome(readings: out.count - start, unknownTags: context.unknownTags)
    }

    /// Validates a top-level value that is not an object and notes `wrong_type`.
    private mutating func notAnObject() throws(DecodeError) {
        let found = try cursor.scanValue(depth: 0)
        try cursor.expectEndOfPayload()
        cursor.note(DecodeError(reason: .wrongType, detail: "the payload must be a JSON object, found \(found.name)"))
    }

    /// Follows the readings path through the object at the cursor (level `level` of the path).
    /// Recursion is bounded by the path's length (configuration, not input).
    private mutating func findMappedReadings(
        _ plan: MappedPlan, level: Int, parentDepth: Int, found: inout Bool, _ context: inout MappedContext,
        into out: inout [Reading]
    ) throws(DecodeError) {
        guard let path = plan.readingsPath else { return }
        let open = cursor.index
        guard try cursor.enter(parentDepth: parentDepth) else { return }
        let depth = parentDepth + 1
        var tracker = KeyTracker(open: open, depth: depth)
        repeat {
            guard cursor.peek() == UInt8(ascii: "\"") else { throw cursor.unexpected("a string key") }
            let key = try cursor.scanString()
            cursor.skipWhitespace()
            try cursor.consume(UInt8(ascii: ":"), "':' after a key")
            cursor.skipWhitespace()
            let (matches, hash) = withContent(key) { k in
                let m = path[level].withUnsafeBytes { $0.count == k.count && compareBytes($0, k) == 0 }
                return (m, m ? 0 : hashBytes(k))
            }
            if !matches {
                tracker.meet(hash: hash)
                _ = try cursor.scanValue(depth: depth)
            } else {
                if tracker.meet(bit: 1) {
                    cursor.note(DecodeError(reason: .duplicateKey, detail: "key \(quotedToken(key)) at byte \(key.quote) appears twice"))
                }
                if level == path.count - 1 {
                    found = true
                    try parseMappedArray(plan, parentDepth: depth, &context, into: &out)
                } else if cursor.peek() == UInt8(ascii: "{") {
                    try findMappedReadings(plan, level: level + 1, parentDepth: depth, found: &found, &context, into: &out)
                } else {
                    _ = try cursor.scanValue(depth: depth)  // not an object: the path leads nowhere
                }
            }
        } while !(try cursor.endOfMember("',' or '}' after a member"))
        try finishObject(tracker, inside: level == 0 ? "the payload" : "an object on the path to the readings")
    }

    /// The readings array at the cursor, lying in a container at `parentDepth`.
    private mutating func parseMappedArray(
        _ plan: MappedPlan, parentDepth: Int, _ context: inout MappedContext, into out: inout [Reading]
    ) throws(DecodeError) {
        let at = cursor.index
        guard cursor.peek() == UInt8(ascii: "[") else {
            let found = try cursor.scanValue(depth: parentDepth)
            if case .nonFinite = found { return }
            let name = plan.readingsName.isEmpty ? "the payload" : "field \"\(plan.readingsName)\""
            cursor.note(DecodeError(reason: .wrongType, detail: "\(name) at byte \(at): expected an array of readings, found \(found.name)"))
            return
        }
        guard try cursor.enter(parentDepth: parentDepth) else {
            cursor.note(DecodeError(reason: .emptyBatch, detail: "the array of readings at byte \(at) is empty"))
            return
        }
        let depth = parentDepth + 1
        var n = 0
        repeat {
            let entryAt = cursor.index
            if cursor.peek() == UInt8(ascii: "{") {
                var fields = MappedFields()
                try readMappedFields(plan, node: 0, parentDepth: depth, into: &fields)
                emitMapped(plan, fields, reading: (n, entryAt), &context, into: &out)
            } else {
                let found = try cursor.scanValue(depth: depth)
                if case .nonFinite = found {} else {
                    cursor.note(DecodeError(
                        reason: .wrongType, detail: "reading \(n) at byte \(entryAt): expected an object, found \(found.name)"
                    ))
                }
            }
            n += 1
        } while !(try cursor.endOfElement("',' or ']' in the array of readings"))
    }

    /// Reads the object at the cursor (tree node `node`), recording the values at the mapping's
    /// paths. Recursion follows the tree, so it is bounded by the longest path (and by the depth
    /// limit, which ``JSONCursor/enter(parentDepth:)`` enforces at every level).
    private mutating func readMappedFields(
        _ plan: MappedPlan, node: Int, parentDepth: Int, into fields: inout MappedFields
    ) throws(DecodeError) {
        let open = cursor.index
        guard try cursor.enter(parentDepth: parentDepth) else { return }
        let depth = parentDepth + 1
        var tracker = KeyTracker(open: open, depth: depth)
        repeat {
            guard cursor.peek() == UInt8(ascii: "\"") else { throw cursor.unexpected("a string key") }
            let key = try cursor.scanString()
            cursor.skipWhitespace()
            try cursor.consume(UInt8(ascii: ":"), "':' after a key")
            cursor.skipWhitespace()
            let (hit, hash) = withContent(key) { k in
                let hit = plan.tree.child(of: node, named: k)
                return (hit, hit == nil ? hashBytes(k) : 0)
            }
            let at = cursor.index
            if let hit {
                if tracker.meet(bit: 1 << UInt32(hit.position)) {
                    cursor.note(DecodeError(reason: .duplicateKey, detail: "key \(quotedToken(key)) at byte \(key.quote) appears twice"))
                }
                let slots = plan.tree.slots(hit.node)
                if plan.tree.hasChildren(hit.node) && cursor.peek() == UInt8(ascii: "{") {
                    try readMappedFields(plan, node: hit.node, parentDepth: depth, into: &fields)
                    if slots != 0 { fields.set(slots, .init(value: .object, at: at)) }
                } else {
                    let value = try cursor.scanValue(depth: depth)
                    if slots != 0 { fields.set(slots, .init(value: value, at: at)) }
                }
            } else {
                tracker.meet(hash: hash)
                _ = try cursor.scanValue(depth: depth)
            }
        } while !(try cursor.endOfMember("',' or '}' after a member"))
        try finishObject(tracker, inside: "a reading")
    }

    /// Turns one reading object's fields into a reading (bound tag), a count (unbound tag) or a note.
    private mutating func emitMapped(
        _ plan: MappedPlan, _ fields: MappedFields, reading: (n: Int, at: Int)?, _ context: inout MappedContext,
        into out: inout [Reading]
    ) {
        func inReading() -> String { reading.map { "in reading \($0.n) at byte \($0.at)" } ?? "in the payload" }
        if !plan.tagFromTopic && fields.tag == nil { noteMissing(plan.tagName, inReading()); return }
        guard let value = fields.value else { noteMissing(plan.valueName, inReading()); return }
        guard let timeField = fields.time else { noteMissing(plan.timeName, inReading()); return }
        guard let time = mappedTime(plan, timeField) else { return }
        checkFuture(time, now: context.now, maxFutureSkew: context.maxFutureSkew, "field \"\(plan.timeName)\" at byte \(timeField.at)")
        let signal: SignalID?
        if plan.tagFromTopic {
            signal = context.topicSignal
        } else if let tag = fields.tag {
            switch tag.value {
            case .string(let s):
                signal = withContent(s) { context.tags.signal(forTagBytes: $0) }
            case .number(let t):
                signal = context.tags.signal(forTagBytes: cursor.slice(t.start, t.end))
            case .nonFinite:
                return
            case let other:
                noteWrongType(plan.tagName, tag.at, "a string or number tag", other)
                return
            }
        } else {
            return
        }
        guard let signal else {
            context.unknownTags += 1
            checkUnboundValue(value.value, "field \"\(plan.valueName)\" at byte \(value.at)")
            return
        }
        guard let v = boundValue(value.value, "field \"\(plan.valueName)\" at byte \(value.at)") else { return }
        let quality: Quality = !plan.hasQuality || isGoodQuality(plan, fields.quality) ? .good : .bad
        out.append(Reading(signal: signal, value: v, quality: quality, time: time, sequence: nil))
    }

    /// The time field in the mapping's format, or nil after noting why not.
    private mutating func mappedTime(_ plan: MappedPlan, _ field: MappedFields.Found) -> EventTime? {
        let name = plan.timeName
        switch plan.timeFormat {
        case .epochMilliseconds:
            return epochMilliseconds(field.value, "field \"\(name)\" at byte \(field.at)")
        case .epochSeconds:
            switch field.value {
            case .number(let t):
                if let ms = epochSecondsAsMilliseconds(t) { return EventTime(milliseconds: ms) }
                cursor.note(DecodeError(
                    reason: .badTimestamp,
                    detail: "field \"\(name)\" at byte \(field.at): expected non-negative epoch seconds, found \(cursor.text(t.start, t.end))"
                ))
            case .nonFinite:
                break
            case let other:
                noteWrongType(name, field.at, "epoch seconds", other)
            }
            return nil
        case .rfc3339:
            switch field.value {
            case .string(let s):
                // Before 1970 is as implausible for a plant gateway as a negative integer, and is rejected alike.
                if let t = withContent(s, { EventTime.parseRFC3339($0) }), t.milliseconds >= 0 { return t }
                cursor.note(DecodeError(
                    reason: .badTimestamp, detail: "field \"\(name)\" at byte \(field.at): not an RFC 3339 date-time: \(quotedToken(s))"
                ))
            case .nonFinite:
                break
            case let other:
                noteWrongType(name, field.at, "an RFC 3339 string", other)
            }
            return nil
        }
    }

    /// Epoch seconds as whole milliseconds, exactly from the decimal digits (no double rounding:
    /// `1763884800.123` is 1763884800123 ms, not …122); nil when negative or out of range.
    private func epochSecondsAsMilliseconds(_ t: NumberToken) -> Int64? {
        guard !t.negative else { return nil }
        guard t.mantissa != 0 else { return 0 }
        // The value is mantissa × 10^exponent seconds; digits dropped past the 19th are sub-millisecond
        // for any plausible time, and truncation is what RFC 3339 fractions get too.
        let e = t.exponent + 3
        if e >= 0 {
            guard e <= 19 else { return nil }
            let (ms, overflow) = t.mantissa.multipliedReportingOverflow(by: powersOfTenU64[e])
            guard !overflow, ms <= UInt64(Int64.max) else { return nil }
            return Int64(ms)
        }
        guard -e <= 19 else { return 0 }
        return Int64(t.mantissa / powersOfTenU64[-e])
    }

    /// Whether the quality field holds one of the rule's good values (absent or any other: bad).
    private mutating func isGoodQuality(_ plan: MappedPlan, _ field: MappedFields.Found?) -> Bool {
        guard let field else { return false }
        switch field.value {
        case .string(let s):
            return withContent(s) { k in
                plan.goodStrings.contains { g in g.withUnsafeBytes { $0.count == k.count && compareBytes($0, k) == 0 } }
            }
        case .number(let t):
            guard let d = cursor.doubleValue(t) else { return false }
            return plan.goodNumbers.contains(d)
        case .bool(let b):
            return plan.goodBools.contains(b)
        default:
            return false
        }
    }
}
