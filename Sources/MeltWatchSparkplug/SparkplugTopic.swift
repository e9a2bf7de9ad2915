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
        if let parsed = parseASCII(topic, group: group) { return .success(parsed) }
        return parseText(topic, group: group)
    }

    /// The hot path: a well-formed all-ASCII topic of this group (what every edge node sends),
    /// split on bytes, only the edge node and device made Strings (small ones need no heap). nil
    /// for anything else: ``parseText(_:group:)`` then decides, and words the error.
    static func parseASCII(_ topic: UnsafeRawBufferPointer, group: String) -> SparkplugTopic? {
        // Byte splitting equals String splitting only for ASCII: a combining mark after a "/" makes
        // one Character of the two.
        var slashes = (0, 0, 0, 0)
        var count = 0
        for (i, b) in topic.enumerated() {
            if b >= 0x80 { return nil }
            if b == UInt8(ascii: "/") {
                switch count {
                case 0: slashes.0 = i
                case 1: slashes.1 = i
                case 2: slashes.2 = i
                case 3: slashes.3 = i
                default: return nil // more than five levels: for the slow path's error
                }
                count += 1
            }
        }
        let namespace = "spBv1.0"
        guard count >= 3, slashes.0 == namespace.utf8.count,
              namespace.utf8.elementsEqual(UnsafeRawBufferPointer(rebasing: topic[..<slashes.0])) else { return nil }
        let groupBytes = UnsafeRawBufferPointer(rebasing: topic[(slashes.0 + 1)..<slashes.1])
        // STATE is a host's topic whatever the configured group is called.
        guard sameName(groupBytes, group), !"STATE".utf8.elementsEqual(groupBytes) else { return nil }
        let typeBytes = UnsafeRawBufferPointer(rebasing: topic[(slashes.1 + 1)..<slashes.2])
        guard let type = SparkplugMessageType(ascii: typeBytes) else { return nil }
        let edgeEnd = count == 4 ? slashes.3 : topic.count
        guard count == (type.isDeviceMessage ? 4 : 3), edgeEnd > slashes.2 + 1 else { return nil }
        let edge = String(decoding: UnsafeRawBufferPointer(rebasing: topic[(slashes.2 + 1)..<edgeEnd]), as: UTF8.self)
        guard type.isDeviceMessage else { return .message(type, edge: edge, device: nil) }
        guard topic.count > slashes.3 + 1 else { return nil }
        let device = String(decoding: UnsafeRawBufferPointer(rebasing: topic[(slashes.3 + 1)...]), as: UTF8.self)
        return .message(type, edge: edge, device: device)
    }

    /// Any topic, as Strings: the reference for ``parseASCII(_:group:)`` and the words of its errors.
    static func parseText(_ topic: UnsafeRawBufferPointer, group: String) -> Result<SparkplugTopic, DecodeError> {
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

extension SparkplugMessageType {
    /// The type a topic level names, from its bytes without making a String.
    init?(ascii b: UnsafeRawBufferPointer) {
        guard let t = Self.allCases.first(where: { $0.rawValue.utf8.elementsEqual(b) }) else { return nil }
        self = t
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
