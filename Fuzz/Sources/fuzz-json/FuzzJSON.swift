import MeltWatchCore
import MeltWatchDecode

/// libFuzzer's entry point: the input is one MQTT payload for the `json` gateway format (contract
/// section 3), decoded through several mappings: readings at a nested path with nested tag and
/// quality fields, one reading tagged by its topic, and the payload itself as the array with epoch
/// seconds. Whatever the input: no crash, no effects, a reject leaves the output as it was, and an
/// accepted message appends only readings of bound tags with finite values and event times within
/// the allowed skew, as many as its outcome says.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let payload = UnsafeRawBufferPointer(start: data, count: size)
    for format in formats {
        let first = check(payload, format: format.format, single: format.single)
        require(check(payload, format: format.format, single: format.single) == first,
                "decoding the same payload twice gave different results")
    }
    return 0
}

/// The receiver's clock: 2025-11-23T08:00:01.123Z, one second after the contract's example time.
private let now = EventTime(milliseconds: 1_763_884_801_123)
private let topic: StaticString = "site/a/FT101"
private let bound: [String: SignalID] = [
    "FT101": SignalID(1), "FT102": SignalID(2), "17": SignalID(3), "site/a/FT101": SignalID(4), "温度": SignalID(5),
]
private let mappings: [(mapping: JSONMapping, single: Bool)] = [
    (JSONMapping(
        readings: ["data", "points"], tag: .field(["meta", "tag"]), value: ["v"], time: ["ts"], timeFormat: .epochMilliseconds,
        quality: .init(field: ["q", "code"], good: [.number(192), .string("good"), .bool(true)])
    ), false),
    (JSONMapping(tag: .topic, value: ["value"], time: ["time"], timeFormat: .rfc3339), true),
    (JSONMapping(readings: [], tag: .field(["id"]), value: ["val"], time: ["t"], timeFormat: .epochSeconds), false),
    // Overlapping paths: a value that is also the parent of the time.
    (JSONMapping(readings: ["r"], tag: .field(["a", "b"]), value: ["a"], time: ["a", "t"], timeFormat: .epochMilliseconds,
                 quality: .init(field: ["a", "b"], good: [.string("FT101")])), false),
]
/// libFuzzer calls the entry point from one thread only, which is all a format asks for.
nonisolated(unsafe) private let formats: [(format: MappedJSONFormat, single: Bool)] = {
    var tags = TagTable()
    do {
        for (tag, signal) in bound { try tags.add(tag: tag, signal: signal) }
    } catch {
        fatalError("fuzz-json: tags: \(error)")
    }
    return mappings.map { (MappedJSONFormat(mapping: $0.mapping, tags: tags), $0.single) }
}()
/// Already in the output before each decode: a reject must leave it, and only it, there.
private let sentinel = Reading(signal: SignalID(999), value: .number(-1), quality: .bad, time: EventTime(milliseconds: 1))

/// Decodes `payload` and checks what every decode must satisfy; returns the result and readings.
private func check(_ payload: UnsafeRawBufferPointer, format: MappedJSONFormat, single: Bool) -> Checked {
    var out = [sentinel]
    var effects = GatewayEffects()
    let result = format.decode(
        topic: UnsafeRawBufferPointer(start: topic.utf8Start, count: topic.utf8CodeUnitCount),
        payload: payload, now: now, into: &out, effects: &effects
    )
    require(effects.isEmpty, "a stateless format produced effects")
    require(out.first == sentinel, "the format changed readings it did not append")
    switch result {
    case .success(let outcome):
        let appended = out.dropFirst()
        require(appended.count == outcome.readings, "outcome says \(outcome.readings) readings, \(appended.count) appended")
        require(outcome.unknownTags >= 0 && outcome.unknownRoles == 0 && outcome.unsupportedMetrics == 0, "odd counts \(outcome)")
        require(outcome.readings + outcome.unknownTags > 0, "accepted a message without readings")
        if single { require(outcome.readings + outcome.unknownTags == 1, "one reading per message, got \(outcome)") }
        let signals = Set(bound.values)
        for r in appended {
            require(signals.contains(r.signal), "a reading of unbound \(r.signal)")
            if case .number(let x) = r.value { require(x.isFinite, "accepted a non-finite value \(x)") }
            require(r.quality != .uncertain, "json mappings have no uncertain quality")
            require(r.time.milliseconds >= 0, "accepted a time before 1970: \(r.time.milliseconds)")
            require(r.time.milliseconds <= now.milliseconds + format.maxFutureSkewMilliseconds,
                    "accepted \(r.time.rfc3339), more than the allowed skew after \(now.rfc3339)")
            require(r.sequence == nil, "json mappings have no sequence numbers")
        }
        return Checked(outcome: outcome, reason: nil, readings: Array(appended))
    case .failure(let error):
        require(out.count == 1, "a rejected message left \(out.count - 1) readings behind")
        require(!error.detail.isEmpty, "reject \(error.reason) without a detail")
        if error.reason == .oversize { require(payload.count > format.maxPayloadBytes, "oversize under the limit") }
        return Checked(outcome: nil, reason: error.reason, readings: [])
    }
}

/// What one decode gave, for comparing two decodes of the same input.
private struct Checked: Equatable {
    var outcome: DecodeOutcome?
    var reason: RejectReason?
    var readings: [Reading]
}

private func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fail(message()) }
}

private func fail(_ message: String) -> Never {
    fatalError("fuzz-json invariant: \(message)")
}
