import MeltWatchCore
import MeltWatchDecode
import MeltWatchSparkplug

/// libFuzzer's entry point: the first byte selects a Sparkplug message type and device (see
/// ``route(_:)``), the rest is its payload, fed to one long-lived host so that births, aliases,
/// `seq` gaps and deaths carry from one input to the next. The clock advances 250 ms per input
/// and the host's timer runs after each. Whatever the input: no crash; a reject leaves the output
/// as it was; an accepted message appends only readings of bound signals with finite values and
/// event times within the allowed skew, as many as its outcome says; losses only on deaths and
/// only of that node's or device's signals; commands only rebirth requests to the edge node; and
/// the host's state always restores into a fresh host and encodes back to the same bytes. And the
/// host's wire reader gives every payload swift-protobuf's verdict and values (``SparkplugWireCheck``).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSparkplug(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let (type, device) = route(data[0])
    let payload = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    now = now.adding(milliseconds: 250)
    if let difference = SparkplugWireCheck.disagreement(payload) {
        fail("the wire reader and swift-protobuf disagree: \(difference)")
    }
    check(type, device: device, payload)
    var effects = GatewayEffects()
    host.tick(now: now, effects: &effects)
    require(effects.losses.isEmpty, "a tick lost signals")
    checkCommands(effects.commands)
    inputs += 1
    if inputs % 16 == 0 { checkState() }
    return 0
}

/// Message types by the first byte (mod 6); the device by the next choice (BOF1, BOF2, BOF3).
private func route(_ b: UInt8) -> (SparkplugMessageType, String?) {
    let types: [SparkplugMessageType] = [.nodeBirth, .deviceBirth, .nodeData, .deviceData, .nodeDeath, .deviceDeath]
    let type = types[Int(b % 6)]
    let devices = ["D", "D2", "D3"]
    return (type, type.isDeviceMessage ? devices[Int(b / 6) % 3] : nil)
}

private let group = "G"
private let edge = "E"
/// Node metrics `n1`, `n2`; device D's `d1`, `d2`, `d3`; D2's `d1`; D3 none (its metrics are unbound).
private let bindings: [SparkplugBinding] = [
    SparkplugBinding(edge: edge, metric: "n1", signal: SignalID(1)),
    SparkplugBinding(edge: edge, metric: "n2", signal: SignalID(2)),
    SparkplugBinding(edge: edge, device: "D", metric: "d1", signal: SignalID(3)),
    SparkplugBinding(edge: edge, device: "D", metric: "d2", signal: SignalID(4)),
    SparkplugBinding(edge: edge, device: "D", metric: "d3", signal: SignalID(5)),
    SparkplugBinding(edge: edge, device: "D2", metric: "d1", signal: SignalID(6)),
    SparkplugBinding(edge: "other", metric: "n1", signal: SignalID(7)),
]
private let nodeSignals: Set<SignalID> = [1, 2, 3, 4, 5, 6].map { SignalID($0) }.reduce(into: []) { $0.insert($1) }
private let deviceSignals: [String: Set<SignalID>] = ["D": [SignalID(3), SignalID(4), SignalID(5)], "D2": [SignalID(6)], "D3": []]

/// Small limits, so that the fuzzer reaches them.
private let limits: SparkplugLimits = {
    var l = SparkplugLimits()
    l.metricsPerBirth = 64
    l.devicesPerNode = 2
    l.metricsTotal = 150
    l.nameBytesTotal = 4096
    return l
}()

private func makeHost() -> SparkplugHost {
    do {
        return try SparkplugHost(groupID: group, bindings: bindings, limits: limits)
    } catch {
        fatalError("fuzz-sparkplug: bindings: \(error)")
    }
}

/// libFuzzer calls the entry point from one thread only, which is all a format asks for.
nonisolated(unsafe) private let host = makeHost()
/// The receiver's clock: from 2025-11-23T08:00:00Z on, 250 ms per input.
nonisolated(unsafe) private var now = EventTime(milliseconds: 1_763_884_800_000)
nonisolated(unsafe) private var inputs = 0
/// Already in the output before each decode: a reject must leave it, and only it, there.
private let sentinel = Reading(signal: SignalID(999), value: .number(-1), quality: .bad, time: EventTime(milliseconds: 1))

private func check(_ type: SparkplugMessageType, device: String?, _ payload: UnsafeRawBufferPointer) {
    var out = [sentinel]
    var effects = GatewayEffects()
    let topic = Array(type.topic(group: group, edge: edge, device: device).utf8)
    let result = topic.withUnsafeBytes { host.decode(topic: $0, payload: payload, now: now, into: &out, effects: &effects) }
    require(out.first == sentinel, "the host changed readings it did not append")
    checkCommands(effects.commands)
    switch result {
    case .success(let outcome):
        let appended = out.dropFirst()
        require(appended.count == outcome.readings, "outcome says \(outcome.readings) readings, \(appended.count) appended")
        require(outcome.unknownTags >= 0 && outcome.unsupportedMetrics >= 0 && outcome.unknownRoles == 0, "odd counts \(outcome)")
        // Every metric takes at least two bytes (a tag and a length).
        let metrics = outcome.readings + outcome.unknownTags + outcome.unsupportedMetrics
        require(metrics * 2 <= payload.count, "\(metrics) metrics counted in \(payload.count) bytes")
        let readable: Set<SignalID> = device.map { deviceSignals[$0] ?? [] } ?? [SignalID(1), SignalID(2)]
        for r in appended {
            require(readable.contains(r.signal), "\(type.rawValue) of \(device ?? "the node") read \(r.signal)")
            if case .number(let x) = r.value { require(x.isFinite, "a non-finite value \(x)") }
            require(r.time.milliseconds >= 0 && r.time.milliseconds <= now.milliseconds + host.maxFutureSkewMilliseconds,
                    "event time \(r.time.milliseconds) outside [0, now + skew]")
            require(r.sequence == nil, "a Sparkplug reading with a sequence")
        }
        switch type {
        case .nodeDeath:
            require(appended.isEmpty, "NDEATH read values")
            require(effects.losses.isEmpty || Set(effects.losses.map(\.signal)) == nodeSignals, "NDEATH lost \(effects.losses)")
            require(effects.losses.allSatisfy { $0.cause == .nodeDeath && $0.time == now }, "NDEATH losses \(effects.losses)")
        case .deviceDeath:
            require(appended.isEmpty, "DDEATH read values")
            require(Set(effects.losses.map(\.signal)).isSubset(of: deviceSignals[device ?? ""] ?? []), "DDEATH of \(device ?? "") lost \(effects.losses)")
            require(effects.losses.allSatisfy { $0.cause == .deviceDeath && $0.time == now }, "DDEATH losses \(effects.losses)")
        default:
            require(effects.losses.isEmpty, "\(type.rawValue) lost signals")
        }
    case .failure(let error):
        require(out.count == 1, "a rejected message left \(out.count - 1) readings behind")
        require(!error.detail.isEmpty, "reject \(error.reason) without a detail")
        require(effects.losses.isEmpty, "a rejected message lost signals")
        require(error.reason != .badTopic && error.reason != .unknownTopic, "a well-formed topic rejected: \(error)")
    }
}

/// A host only ever asks its edge node for a rebirth, once per message or tick at most.
private func checkCommands(_ commands: [OutgoingMessage]) {
    require(commands.count <= 1, "\(commands.count) commands at once")
    for c in commands {
        require(c.topic == "spBv1.0/\(group)/NCMD/\(edge)" && c.qos == 0 && !c.retain, "unexpected command \(c.topic)")
        require(SparkplugPayloads.isRebirthRequest(c.payload), "a command that is not a rebirth request")
    }
}

/// The state restores into a fresh host, which encodes it back byte for byte.
private func checkState() {
    guard let state = host.encodeState() else { fail("the host has no state") }
    let fresh = makeHost()
    do {
        try fresh.restoreState(state)
    } catch {
        fail("the host's own state does not restore: \(error)")
    }
    require(fresh.encodeState() == state, "the state changed across a restore")
}

private func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fail(message()) }
}

private func fail(_ message: String) -> Never {
    fatalError("fuzz-sparkplug invariant: \(message)")
}
