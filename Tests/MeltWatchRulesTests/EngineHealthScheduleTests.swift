import MeltWatchCore
import Testing

@testable import MeltWatchRules

private let t0: Int64 = 1_763_884_800_000
private let wce = TemplateCatalog.named("steel.water-cooled-element")!
private let co = TemplateCatalog.named("steel.co-detector")!

private func defaults(_ t: TemplateSpec) -> [String: ParamValue] {
    Dictionary(uniqueKeysWithValues: t.params.compactMap { p in p.defaultValue.map { (p.name, $0) } })
}

/// Two water-cooled elements and a CO detector, every role a signal; short stale and frozen limits
/// so a few minutes of input exercise them often. The last WCE signal is left unjudged (no health)
/// so slots and signal indices differ.
private func makeModel(stale: Int64 = 3_000, frozen: Int64 = 10_000) -> EngineModel {
    var equipment: [EngineEquipment] = []
    var signals: [EngineSignal] = []
    for (e, template) in [wce, wce, co].enumerated() {
        var params = defaults(template)
        if template.name == wce.name { params["on_delay_s"] = .number(1) }
        equipment.append(EngineEquipment(plant: "p", id: "eq\(e)", template: template, params: params))
        for (r, role) in template.roles.enumerated() {
            let judged = !(e == 1 && r == template.roles.count - 1)
            signals.append(EngineSignal(equipment: e, role: r, health: judged ? HealthSettings(
                staleAfterMilliseconds: stale, frozenAfterMilliseconds: frozen,
                range: role.name == "outlet_temp" ? 0...150 : nil, required: !role.isOptional) : nil))
        }
    }
    return EngineModel(equipment: equipment, signals: signals, configHash: "sha256:test")
}

/// Everything an engine emits, as bytes: alarm events, interlock outcomes, counters.
private final class Transcript {
    var lines: [String] = []

    func attach(_ engine: Engine) {
        engine.onInterlockOutcome = { [unowned self] o in
            lines.append("outcome \(o.equipment) \(o.trigger) \(o.kind) \(o.trippedAt) \(o.latencyMilliseconds ?? -1) \(o.cause ?? "")")
        }
    }

    func run(_ engine: Engine, _ input: EngineInput) {
        engine.process(input) { lines.append($0.jsonBody(emittedAt: EventTime(milliseconds: 0))) }
    }
}

/// A random but plausible stream: ticks that mostly advance (sometimes jump, sometimes step back),
/// readings with lag, gaps, out-of-order and duplicate deliveries, gate toggles, held values,
/// bad quality, NaN and out-of-range numbers; some roles never report.
private func randomStream(seed: UInt64, count: Int, signals: Int) -> [EngineInput] {
    var rng = SplitMix64(seed: seed)
    var clock = t0
    var out: [EngineInput] = []
    let silent = Set((0..<signals).filter { _ in Int.random(in: 0..<6, using: &rng) == 0 })
    var held = Array(repeating: 40.0, count: signals)
    let gates = (0..<signals).filter { s in [4, 14].contains(s) }  // furnace_operating of both WCEs
    for _ in 0..<count {
        switch Int.random(in: 0..<1000, using: &rng) {
        case 0..<100:
            clock += Int64.random(in: 0...300, using: &rng)
            out.append(.tick(EventTime(milliseconds: clock)))
        case 100..<105:
            clock += Int64.random(in: 2_000...15_000, using: &rng)  // a quiet spell: stale, frozen by tick
            out.append(.tick(EventTime(milliseconds: clock)))
        case 105..<110:
            out.append(.tick(EventTime(milliseconds: clock - Int64.random(in: 1...2_000, using: &rng))))  // clock stepped back
        case 110..<140:
            // The furnace starts or stops: the frozen run of every signal restarts at the next tick.
            let g = gates.randomElement(using: &rng)!
            let time = EventTime(milliseconds: clock - Int64.random(in: 0...300, using: &rng))
            out.append(.reading(Reading(signal: SignalID(Int32(g)), value: .bool(Bool.random(using: &rng)), time: time)))
        default:
            let s = Int.random(in: 0..<signals, using: &rng)
            guard !silent.contains(s) else { continue }
            let lag = Int64.random(in: -200...1_500, using: &rng)
            let time = EventTime(milliseconds: clock - lag)
            let value: Value
            switch Int.random(in: 0..<40, using: &rng) {
            case 0: value = .bool(Bool.random(using: &rng))  // feedbacks, bypass toggle
            case 1: value = .number(.nan)
            case 2: value = .number(200)  // outside outlet_temp's range
            case 3..<34: value = .number(held[s])  // held: frozen evidence
            default:
                held[s] = [40, 120, 115, 30, 5, 60].randomElement(using: &rng)! + Double(Int.random(in: 0..<3, using: &rng))
                value = .number(held[s])
            }
            let quality: Quality = Int.random(in: 0..<25, using: &rng) == 0 ? .bad : .good
            let seq = Int64.random(in: 0..<4, using: &rng)
            out.append(.reading(Reading(signal: SignalID(Int32(s)), value: value, quality: quality, time: time, sequence: seq)))
        }
    }
    return out
}

@Suite("Engine health schedule: ticks visit only due signals, with the events of a full scan")
struct EngineHealthScheduleTests {
    @Test("random streams: the deadline schedule emits byte-identical events to visiting every signal on every tick",
          arguments: 0..<24)
    func sameAsFullScan(seed: Int) {
        let model = makeModel(stale: 5_000, frozen: 8_000)
        let scheduled = Engine(model: model)
        let reference = Engine(model: model)
        reference.tickVisitsEverySignal = true
        let a = Transcript(), b = Transcript()
        a.attach(scheduled)
        b.attach(reference)
        for input in randomStream(seed: UInt64(seed), count: 8_000, signals: model.signals.count) {
            a.run(scheduled, input)
            b.run(reference, input)
        }
        #expect(a.lines.count > 100)
        #expect(a.lines.contains { $0.contains("\"class\":\"device\"") })
        let firstDifference = a.lines.indices.first { $0 < b.lines.count && a.lines[$0] != b.lines[$0] }
        #expect(firstDifference == nil, "first difference: \(firstDifference.map { a.lines[$0] + "\n vs \n" + b.lines[$0] } ?? "")")
        #expect(a.lines.count == b.lines.count)
        #expect(scheduled.counters == reference.counters)
        // The same judgement pending everywhere (a skipped tick leaves only `latestTick` older, which
        // no transition reads: a tick earlier than the latest is ignored by every signal alike).
        #expect(scheduled.health.map(\.deadline) == reference.health.map(\.deadline))
        #expect(scheduled.health.map(\.faults) == reference.health.map(\.faults))
    }

    @Test("stale raise times are unchanged: never-seen required roles at first tick + stale_after_s, optional roles only after a reading")
    func staleTimes() {
        let model = makeModel(stale: 30_000, frozen: 600_000)
        for everySignal in [false, true] {
            let engine = Engine(model: model)
            engine.tickVisitsEverySignal = everySignal
            var events: [AlarmEvent] = []
            let inlet = SignalID(Int32(wce.roleIndex("inlet_flow")!))
            let tilt = SignalID(Int32(wce.roleIndex("tilt_locked")!))  // optional
            engine.process(.tick(EventTime(milliseconds: t0 + 500))) { events.append($0) }
            engine.process(.reading(Reading(signal: inlet, value: .number(120), time: EventTime(milliseconds: t0 + 1_000)))) { events.append($0) }
            engine.process(.reading(Reading(signal: tilt, value: .bool(false), time: EventTime(milliseconds: t0 + 2_000)))) { events.append($0) }
            // The CO detector keeps reporting: the plant's gateway is alive, so eq0's silent roles are
            // stale on their own (a wholly silent plant is one gateway-silent: EngineSilenceTests).
            let detector = SignalID(Int32(2 * wce.roles.count + co.roleIndex("co")!))
            for ms in stride(from: t0 + 600, through: t0 + 40_000, by: 100) {
                engine.process(.tick(EventTime(milliseconds: ms))) { events.append($0) }
                if ms % 1000 == 0 { engine.process(.reading(Reading(signal: detector, value: .number(Double(ms % 7)), time: EventTime(milliseconds: ms)))) { events.append($0) } }
            }
            let eq0 = events.filter { $0.equipment == "eq0" && $0.rule == "stale" }
            let times = Dictionary(grouping: eq0, by: { $0.signals[0] }).mapValues { $0.map(\.eventTime.milliseconds) }
            // Never seen: first tick (0.5 s) + 30 s. Seen: the last reading's event time + 30 s.
            let mandatory = wce.roles.filter { !$0.isOptional }.map(\.name)
            for role in mandatory where role != "inlet_flow" { #expect(times[role] == [t0 + 30_500], "\(role)") }
            #expect(times["inlet_flow"] == [t0 + 31_000])
            #expect(times["tilt_locked"] == [t0 + 32_000])
            // Optional roles that never reported are not judged.
            #expect(Set(times.keys) == Set(mandatory + ["tilt_locked"]))
        }
    }

    @Test("a gate change between ticks ends the frozen run at the next tick, as a full scan does")
    func gateChangeRestartsFrozenRun() {
        let model = makeModel(stale: 60_000, frozen: 10_000)
        var transcripts: [[String]] = []
        for everySignal in [false, true] {
            let engine = Engine(model: model)
            engine.tickVisitsEverySignal = everySignal
            let record = Transcript()
            let temp = SignalID(Int32(wce.roleIndex("outlet_temp")!))
            let gate = SignalID(Int32(wce.roleIndex("furnace_operating")!))
            func at(_ ms: Int64) -> EventTime { EventTime(milliseconds: t0 + ms) }
            record.run(engine, .tick(at(0)))
            record.run(engine, .reading(Reading(signal: gate, value: .bool(true), time: at(0))))
            record.run(engine, .reading(Reading(signal: temp, value: .number(35), time: at(0))))
            record.run(engine, .reading(Reading(signal: gate, value: .bool(false), time: at(4_000))))
            record.run(engine, .tick(at(4_100)))
            record.run(engine, .reading(Reading(signal: gate, value: .bool(true), time: at(5_000))))
            for ms in stride(from: Int64(5_100), through: 20_000, by: 100) {
                record.run(engine, .tick(at(ms)))
                if ms % 1000 == 0 { record.run(engine, .reading(Reading(signal: temp, value: .number(35), time: at(ms)))) }
            }
            let frozen = record.lines.filter { $0.contains("\"rule\":\"frozen\"") && $0.contains("outlet_temp") }
            #expect(frozen.count == 1)
            // The tick at 4.1 s ended the run (the furnace stopped); the first reading after the
            // furnace runs again (6 s) starts a new one, frozen 10 s later.
            #expect(frozen.first?.contains("\"event_time\":\"\(at(16_000).rfc3339)\"") == true, "\(frozen)")
            transcripts.append(record.lines)
        }
        #expect(transcripts[0] == transcripts[1])
    }
}
