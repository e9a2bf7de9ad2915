import MeltWatchCore
import MeltWatchDecode

/// libFuzzer's entry point: the input is one MQTT payload for the `neuron` gateway format
/// (contract section 3, values-format and tags-format), decoded with a few `<node>/<group>/<name>`
/// tags bound. Whatever the input: no crash, no effects, a reject leaves the output as it was, and
/// an accepted message appends only readings of bound tags with finite values, all on the message's
/// one timestamp within the allowed skew, as many as its outcome says.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNeuron(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let payload = UnsafeRawBufferPointer(start: data, count: size)
    let first = check(payload)
    // The reusable buffers carry nothing from one message to the next.
    require(check(payload) == first, "decoding the same payload twice gave different results")
    return 0
}

/// The receiver's clock: 2025-11-23T08:00:01.123Z, one second after the contract's example `timestamp`.
private let now = EventTime(milliseconds: 1_763_884_801_123)
private let bound: [String: SignalID] = [
    "n/g/FT101": SignalID(1), "n/g/FT102": SignalID(2), "n/g/RUN": SignalID(3), "节点/组/温度": SignalID(4),
    "//": SignalID(5),
]
/// libFuzzer calls the entry point from one thread only, which is all a format asks for (this one
/// keeps reusable buffers, so the second decode of each input also checks they carry nothing over).
nonisolated(unsafe) private let format: NeuronFormat = {
    var tags = TagTable()
    do {
        for (tag, signal) in bound { try tags.add(tag: tag, signal: signal) }
    } catch {
        fatalError("fuzz-neuron: tags: \(error)")
    }
    return NeuronFormat(tags: tags)
}()
/// Already in the output before each decode: a reject must leave it, and only it, there.
private let sentinel = Reading(signal: SignalID(999), value: .number(-1), quality: .bad, time: EventTime(milliseconds: 1))

/// Decodes `payload` and checks what every decode must satisfy; returns the result and readings.
private func check(_ payload: UnsafeRawBufferPointer) -> Checked {
    var out = [sentinel]
    var effects = GatewayEffects()
    let topic: StaticString = "neuron/site-1/upload"
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
        // Every entry, bound or not, is at least `"":0` (4 bytes).
        require((outcome.readings + outcome.unknownTags) * 4 <= payload.count, "more entries than the payload can hold")
        require(outcome.readings + outcome.unknownTags > 0, "accepted a message without entries")
        let signals = Set(bound.values)
        for r in appended {
            require(signals.contains(r.signal), "a reading of unbound \(r.signal)")
            if case .number(let x) = r.value { require(x.isFinite, "accepted a non-finite value \(x)") }
            require(r.quality != .uncertain, "neuron has no uncertain quality")
            require(r.time == appended.first?.time, "readings of one neuron message on different times")
            if r.quality == .bad { require(r.value == .number(0), "an error code's reading is not the filler 0") }
            require(r.time.milliseconds >= 0, "accepted a time before 1970: \(r.time.milliseconds)")
            require(r.time.milliseconds <= now.milliseconds + format.maxFutureSkewMilliseconds,
                    "accepted \(r.time.rfc3339), more than the allowed skew after \(now.rfc3339)")
            require(r.sequence == nil, "neuron has no sequence numbers")
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
    fatalError("fuzz-neuron invariant: \(message)")
}
