import MeltWatchCore
import MeltWatchDecode

/// libFuzzer's entry point: the input is one MQTT payload, decoded as it arrived on a per-signal
/// topic and again on a per-equipment (batch) topic (contract section 3). Inputs that are nothing
/// but a number's characters are also decoded as the `v` of a valid message and checked against
/// the standard library's correctly rounded parser.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPayload(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let payload = UnsafeRawBufferPointer(start: data, count: size)
    check(payload, route: signalRoute)
    check(payload, route: equipmentRoute)
    checkNumber(payload)
    return 0
}

/// The receiver's clock: 2025-11-23T08:00:01.123Z, one second after the contract's example `ts`.
private let now = EventTime(milliseconds: 1_763_884_801_123)
private let signalRoute = TopicRoute.signal(SignalID(7))
/// Held as a plain class reference: LeakSanitizer cannot see a reference inside a global enum
/// (the case tag shares its bits) and would report the table as leaked at exit.
private let roles: EquipmentRoles = {
    do {
        return try EquipmentRoles([
            "inlet_flow": SignalID(1), "outlet_flow": SignalID(2), "furnace_operating": SignalID(3), "温度": SignalID(4),
        ])
    } catch {
        fatalError("fuzz-payload: roles: \(error)")
    }
}()
private var equipmentRoute: TopicRoute { .equipment(roles) }
private let decoder = PayloadDecoder(topics: TopicTable())
/// Already in the output before each decode: a reject must leave it, and only it, there.
private let sentinel = Reading(signal: SignalID(999), value: .number(-1), quality: .bad, time: EventTime(milliseconds: 1))

/// Decodes `payload` on `route` and checks what every decode must satisfy, whatever the input.
@discardableResult
private func check(_ payload: UnsafeRawBufferPointer, route: TopicRoute) -> [Reading]? {
    var out = [sentinel]
    let result = decoder.decode(route: route, payload: payload, now: now, into: &out)
    require(out.first == sentinel, "the decoder changed readings it did not append")
    switch result {
    case .success(let outcome):
        let appended = out.dropFirst()
        require(appended.count == outcome.readings, "outcome says \(outcome.readings) readings, \(appended.count) appended")
        require(outcome.unknownRoles >= 0, "negative unknown role count")
        if case .signal(let id) = route {
            require(appended.count == 1 && appended.first?.signal == id, "a per-signal message gave \(appended.count) readings")
        }
        for r in appended {
            if case .number(let x) = r.value { require(x.isFinite, "accepted a non-finite value \(x)") }
            require(r.time.milliseconds >= 0, "accepted a time before 1970: \(r.time.milliseconds)")
            require(r.time.milliseconds <= now.milliseconds + decoder.maxFutureSkewMilliseconds,
                    "accepted \(r.time.rfc3339), more than the allowed skew after \(now.rfc3339)")
            require(EventTime(parsing: r.time.rfc3339) == r.time, "\(r.time.milliseconds) ms does not survive RFC 3339 and back")
            require(r.sequence.map { $0 >= 0 } ?? true, "accepted a negative seq")
        }
        return Array(appended)
    case .failure(let error):
        require(out.count == 1, "a rejected message left \(out.count - 1) readings behind")
        require(!error.detail.isEmpty, "reject \(error.reason) without a detail")
        return nil
    }
}

/// For an input made only of a JSON number's characters: when the decoder accepts it as `v`, its
/// value must be the correctly rounded one (the stdlib parser's), or the message must be rejected.
private func checkNumber(_ text: UnsafeRawBufferPointer) {
    guard !text.isEmpty, text.count <= 400,
          text.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2B || $0 == 0x2E || $0 | 0x20 == 0x65 })
    else { return }
    let payload = Array(#"{"ts":1763884800123,"v":"#.utf8) + Array(text) + [UInt8(ascii: "}")]
    guard let readings = payload.withUnsafeBytes({ check($0, route: signalRoute) }) else { return }
    guard case .number(let got) = readings[0].value else { fail("a number was read as \(readings[0].value)") }
    guard let expected = Double(String(decoding: text, as: UTF8.self)) else {
        fail("the decoder accepted \(String(decoding: text, as: UTF8.self)), which is not a number")
    }
    require(got.bitPattern == expected.bitPattern,
            "\(String(decoding: text, as: UTF8.self)) decoded as \(got), correctly rounded it is \(expected)")
}

private func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fail(message()) }
}

private func fail(_ message: String) -> Never {
    fatalError("fuzz-payload invariant: \(message)")
}
