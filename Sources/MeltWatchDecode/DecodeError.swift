/// Why a gateway message was rejected; the raw value is the contract's counter label.
///
/// Labels are bounded and stable (they become metric labels), so the set only grows.
public enum RejectReason: String, CaseIterable, Sendable {
    /// The payload is larger than the configured limit (checked before parsing).
    case oversize
    /// Not valid JSON (RFC 8259): syntax, bad escapes, invalid UTF-8, control characters, trailing bytes.
    case malformedJSON = "malformed_json"
    /// A key occurs twice in the top-level object or in `values` (a Neuron tag named twice too).
    case duplicateKey = "duplicate_key"
    /// `ts`, `v` (per-signal) or `values` (batch) is absent; in a gateway format, a field the
    /// format or the mapping requires (Kepware's `id`/`v`/`q`/`t`, Neuron's `node`/`group`/`timestamp`).
    case missingField = "missing_field"
    /// A known field has the wrong JSON type (e.g. `v` is a string), or the top level is not an object;
    /// a bound tag with a value that is neither a number nor a boolean; a Sparkplug value in a field
    /// its datatype does not call for.
    case wrongType = "wrong_type"
    /// `NaN`/`Infinity` literals anywhere, or a value that overflows a double (`1e999`).
    case nonFinite = "non_finite"
    /// `ts` is not non-negative integer milliseconds or an RFC 3339 string.
    case badTimestamp = "bad_timestamp"
    /// `ts` lies further after the receiver's clock than the allowed skew.
    case futureTimestamp = "future_timestamp"
    /// `q` is a string other than `good`, `uncertain` or `bad`.
    case badQuality = "bad_quality"
    /// `seq` is not a non-negative integer that fits in 64 bits.
    case badSequence = "bad_sequence"
    /// No route is configured for the topic.
    case unknownTopic = "unknown_topic"
    /// A batch names a role the equipment does not have (counted per role, see ``DecodeOutcome``).
    case unknownRole = "unknown_role"
    /// Containers nest deeper than the configured limit.
    case tooDeep = "too_deep"
    /// `values` is an empty object (in a gateway format: no reading at all in the message).
    case emptyBatch = "empty_batch"
    /// A gateway format's reading names a tag no signal binds (counted per reading, see ``DecodeOutcome``).
    case unknownTag = "unknown_tag"
    /// Not a valid protobuf message (truncated, wrong wire type, nested too deep).
    case malformedProtobuf = "malformed_protobuf"
    /// A Sparkplug metric of a type MeltWatch does not read (arrays, datasets, templates, strings
    /// on a bound signal), counted per metric and ignored.
    case unsupportedMetric = "unsupported_metric"
    /// Sparkplug DATA or DBIRTH from an edge node (or device) with no current birth: a rebirth is requested.
    case noBirth = "no_birth"
    /// Sparkplug DATA with an alias its birth did not declare: a rebirth is requested.
    case unknownAlias = "unknown_alias"
    /// A Sparkplug birth that declares one alias twice, or an alias its node already uses.
    case aliasCollision = "alias_collision"
    /// A Sparkplug NDEATH whose `bdSeq` is not the current session's (a late will of an older session).
    case staleDeath = "stale_death"
    /// A Sparkplug topic that is malformed or of another group. (NCMD, DCMD and STATE, which a host
    /// does not read, are accepted with no readings: MeltWatch receives its own rebirth requests.)
    case badTopic = "bad_topic"
}

/// A rejected message: the counter reason plus a human message naming the field and byte offset.
///
/// The detail is for a rate-limited log line; never use it as a metric label.
public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The counter label.
    public var reason: RejectReason
    /// What was wrong and where, e.g. `field "v" at byte 17: expected a number or boolean, found a string`.
    public var detail: String

    /// Creates an error.
    public init(reason: RejectReason, detail: String) {
        self.reason = reason
        self.detail = detail
    }

    /// `reason: detail`, ready for a log line.
    public var description: String { "\(reason.rawValue): \(detail)" }
}

/// What an accepted message produced.
public struct DecodeOutcome: Sendable, Equatable {
    /// How many readings were appended to the output.
    public var readings: Int
    /// How many entries of a batch's `values` named roles the equipment does not have.
    ///
    /// Those entries were dropped while the known ones were accepted: one unknown sensor on a PLC
    /// (e.g. after a gateway upgrade) must not blind the monitor to the equipment's other signals.
    /// The caller adds this number to the `unknown_role` counter. An unknown role's value must
    /// still be a finite number or a boolean: the contract says so for every entry of `values`.
    public var unknownRoles: Int
    /// Readings of gateway formats whose tag no signal binds (counted under `unknown_tag`).
    public var unknownTags: Int = 0
    /// Sparkplug metrics of a type MeltWatch does not read (counted under `unsupported_metric`).
    public var unsupportedMetrics: Int = 0

    /// Creates an outcome.
    public init(readings: Int, unknownRoles: Int = 0, unknownTags: Int = 0, unsupportedMetrics: Int = 0) {
        self.readings = readings
        self.unknownRoles = unknownRoles
        self.unknownTags = unknownTags
        self.unsupportedMetrics = unsupportedMetrics
    }
}

/// Renders untrusted bytes for a log message: quoted, escaped, and cut to a bounded length so a
/// hostile key can neither inject lines nor flood the log.
func quotedForLog(_ bytes: UnsafeRawBufferPointer, limit: Int = 48) -> String {
    var s = "\""
    var shown = 0
    // The decoder only calls this with validated UTF-8, but decoding with replacement keeps it safe anyway.
    for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
        if shown == limit { s += "…"; break }
        switch scalar {
        case "\"": s += "\\\""
        case "\\": s += "\\\\"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value)
            || scalar.value == 0x2028 || scalar.value == 0x2029:
            s += "\\u{" + String(scalar.value, radix: 16) + "}"
        default:
            s.unicodeScalars.append(scalar)
        }
        shown += 1
    }
    return s + "\""
}

/// Describes the byte at an offset for a syntax error: `'x'`, `byte 0xC3` or `end of payload`.
func describeByte(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> String {
    guard offset < bytes.count else { return "end of payload" }
    let b = bytes[offset]
    if b >= 0x21 && b < 0x7F { return "'" + String(UnicodeScalar(b)) + "'" }
    let hex = String(b, radix: 16, uppercase: true)
    return "byte 0x" + (hex.count == 1 ? "0" : "") + hex
}
