import MeltWatchDecode

/// A topic of the Sparkplug namespace, as the host reads it.
enum SparkplugTopic: Equatable {
    /// A message of this host's group: `spBv1.0/<group>/<TYPE>/<edge>[/<device>]`.
    case message(SparkplugMessageType, edge: String, device: String?)
    /// A Primary Host's `spBv1.0/STATE/<host_id>`: another host's business, or our own echo.
    case hostState

    /// Parses `topic`; a topic outside `spBv1.0/<group>/`, of an unknown type, with the wrong number
    /// of levels, an empty level or invalid UTF-8 is `badTopic`.
    static func parse(_ topic: UnsafeRawBufferPointer, group: String) -> Result<SparkplugTopic, DecodeError> {
        guard let text = String(validating: topic, as: UTF8.self) else {
            return .failure(DecodeError(reason: .badTopic, detail: "topic is not valid UTF-8"))
        }
        let levels = text.split(separator: "/", omittingEmptySubsequences: false)
        guard levels.count >= 3, levels[0] == "spBv1.0" else {
            return .failure(DecodeError(reason: .badTopic, detail: "topic \(logQuoted(text)) is not in the Sparkplug B namespace spBv1.0/<group>/…"))
        }
        if levels[1] == "STATE" { return .success(.hostState) }
        guard levels[1] == group else {
            return .failure(DecodeError(reason: .badTopic, detail: "topic \(logQuoted(text)) is not of group \(logQuoted(group))"))
        }
        guard let type = SparkplugMessageType(rawValue: String(levels[2])) else {
            return .failure(DecodeError(reason: .badTopic, detail: "topic \(logQuoted(text)): unknown message type \(logQuoted(String(levels[2])))"))
        }
        let expected = type.isDeviceMessage ? 5 : 4
        guard levels.count == expected, levels[3...].allSatisfy({ !$0.isEmpty }) else {
            return .failure(DecodeError(
                reason: .badTopic,
                detail: "topic \(logQuoted(text)): \(type.rawValue) takes \(type.isDeviceMessage ? "an edge node and a device" : "an edge node"), non-empty"
            ))
        }
        return .success(.message(type, edge: String(levels[3]), device: type.isDeviceMessage ? String(levels[4]) : nil))
    }
}

/// Renders an untrusted name for a log line: quoted, control characters escaped, cut at `limit`
/// characters, so a hostile metric name can neither inject lines nor flood the log.
func logQuoted(_ s: String, limit: Int = 64) -> String {
    var out = "\""
    var shown = 0
    for scalar in s.unicodeScalars {
        if shown == limit { out += "…"; break }
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where scalar.value < 0x20 || (0x7F..<0xA0).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029:
            out += "\\u{" + String(scalar.value, radix: 16) + "}"
        default: out.unicodeScalars.append(scalar)
        }
        shown += 1
    }
    return out + "\""
}
