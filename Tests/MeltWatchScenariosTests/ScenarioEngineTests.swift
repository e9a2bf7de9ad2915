import Foundation
import MeltWatchAlarms
import MeltWatchConfig
import MeltWatchCore
import MeltWatchDecode
import MeltWatchHazards
import MeltWatchRules
import MeltWatchScenarios
import Testing

/// Runs a scenario's gateway messages through the real decoder and engine, with the daemon's clock
/// modelled: each scan arrives at its own timestamp (speed 1, no transport delay) and a tick every
/// 100 ms, continuing `settleSeconds` after the last scan as a daemon would while the test waits.
/// Returns the alarm events the duty room gets: the engine's through the alarm book, which folds
/// re-activations and chattering as the daemon does.
func runThroughEngine(_ scenario: Scenario, rate: Double, seed: UInt64 = 7, origin: Int64 = 1_763_884_800_000,
                      settleSeconds: Double = 2, publish: PublishMode? = nil) throws -> [ObservedAlarm] {
    try scenarioEvents(scenario, rate: rate, seed: seed, origin: origin, settleSeconds: settleSeconds, publish: publish).map(ObservedAlarm.init)
}

/// ``runThroughEngine(_:rate:seed:origin:settleSeconds:publish:)``'s events in full. With
/// `restoreEvery`, after every that many scans the engine is written to a checkpoint (JSON, as the
/// daemon writes it) and replaced by a new engine restored from it, as a restart would.
func scenarioEvents(_ scenario: Scenario, rate: Double, seed: UInt64 = 7, origin: Int64 = 1_763_884_800_000,
                    settleSeconds: Double = 2, publish: PublishMode? = nil, restoreEvery: Int? = nil) throws -> [AlarmEvent] {
    try scenarioRun(scenario, rate: rate, seed: seed, origin: origin, settleSeconds: settleSeconds, publish: publish,
                    restoreEvery: restoreEvery).events
}

/// ``scenarioEvents(_:rate:seed:origin:settleSeconds:publish:restoreEvery:)`` with the hazard desk
/// behind the book, as the daemon's stage runs it: the events and the hazard records opened.
func scenarioRun(_ scenario: Scenario, rate: Double, seed: UInt64 = 7, origin: Int64 = 1_763_884_800_000,
                 settleSeconds: Double = 2, publish: PublishMode? = nil, restoreEvery: Int? = nil) throws -> (events: [AlarmEvent], hazards: [Hazard]) {
    let config = try scenarioConfig(scenario)
    var topics = TopicTable()
    for s in config.signals { if let topic = s.topic { try topics.addSignal(topic: topic, signal: s.id) } }
    for e in config.equipmentTopics { try topics.addEquipment(topic: e.topic, roles: e.roles) }
    let decoder = PayloadDecoder(topics: topics)
    var engine = Engine(model: config.engineModel(configHash: "sha256:scenario"))
    var observed: [AlarmEvent] = []
    var book = AlarmBook(settings: .init(escalateAfterMilliseconds: 0, configHash: "sha256:scenario"))
    var out = AlarmBook.Output()
    var desk = HazardDesk()
    var hazardOut = HazardDesk.Output()
    var shown = 0  // book events the desk has seen
    let collect: (AlarmEvent) -> Void = { e in
        book.apply(e, into: &out)
        for i in shown..<out.events.count { desk.observe(out.events[i], into: &hazardOut) }
        shown = out.events.count
    }
    let outcome: (InterlockOutcome) -> Void = { desk.observe($0, into: &hazardOut) }
    func drain() {
        for i in shown..<out.events.count { desk.observe(out.events[i], into: &hazardOut) }
        observed += out.events.filter { $0.kind == .raised || $0.kind == .cleared || $0.kind == .updated }
        out = AlarmBook.Output()
        shown = 0
    }
    var scans = 0

    var player = ScenarioPlayer(scenario: scenario, equipment: SimEquipment.all(in: config), rate: rate, seed: seed,
                                originMilliseconds: origin, publish: publish)
    var clock = origin - 500  // the daemon started half a second before the gateway's first scan
    func tick(until t: Int64) {
        while clock <= t {
            engine.process(.tick(EventTime(milliseconds: clock)), emit: collect, outcome: outcome)
            book.tick(EventTime(milliseconds: clock), into: &out)
            drain()
            desk.tick(EventTime(milliseconds: clock), into: &hazardOut)
            clock += 100
        }
    }
    var readings: [Reading] = []
    var last = origin
    while let (t, messages) = player.nextScan() {
        let now = origin + t.milliseconds
        tick(until: now)
        for m in messages {
            readings.removeAll(keepingCapacity: true)
            let result = Array(m.payload.utf8).withUnsafeBytes {
                decoder.decode(topic: m.topic, payload: $0, now: EventTime(milliseconds: now), into: &readings)
            }
            if case .failure(let e) = result { Issue.record("decoder rejected \(m.topic) \(m.payload): \(e)") }
            for r in readings {
                desk.advance(to: r.time)
                engine.process(.reading(r), emit: collect, outcome: outcome)
            }
            drain()
        }
        last = now
        scans += 1
        if let every = restoreEvery, scans % every == 0 { engine = try restarted(engine) }
    }
    tick(until: last + SimTime(seconds: settleSeconds).milliseconds)
    return (observed, hazardOut.notices.filter { $0.kind == .opened }.map(\.hazard))
}

/// A new engine restored from `engine`'s checkpoint, through the JSON the daemon writes.
func restarted(_ engine: Engine) throws -> Engine {
    let encoder = JSONEncoder()
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "+inf", negativeInfinity: "-inf", nan: "nan")
    let data = try encoder.encode(engine.checkpoint())
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "+inf", negativeInfinity: "-inf", nan: "nan")
    decoder.userInfo[EngineCheckpoint.modelKey] = engine.model
    let restored = Engine(model: engine.model, allowedLatenessMilliseconds: engine.allowedLatenessMilliseconds)
    try restored.restore(try decoder.decode(EngineCheckpoint.self, from: data))
    return restored
}

/// A valid config for the scenario's rig (broker and webhook are never contacted).
func scenarioConfig(_ scenario: Scenario) throws -> MeltWatchConfig {
    let yaml = """
    broker:
      url: mqtt://127.0.0.1:1883
      client_id: scenario-test
    journal:
      dir: journal
    duty:
      listen: 127.0.0.1:0
      webhooks:
        - url: http://127.0.0.1:9/alarms

    """ + scenario.rig.plantsYAML
    return try ConfigLoader.parse(bytes: Array(yaml.utf8), file: "\(scenario.name).yaml", baseDirectory: "/tmp")
}

@Suite("Scenarios through the decoder and the engine")
struct ScenarioEngineTests {
    static let rates: [Double] = [1, 2, 10]

    @Test("every scenario causes exactly its expected alarms, and opens exactly its expected hazard records, to the millisecond",
          arguments: Scenario.all.map(\.name), rates)
    func expectedAlarms(name: String, rate: Double) throws {
        let scenario = try #require(Scenario.named(name))
        let origin: Int64 = 1_763_884_800_000
        let run = try scenarioRun(scenario, rate: rate, origin: origin)
        let observed = run.events.map(ObservedAlarm.init)
        let verdict = ScenarioVerdict(scenario: scenario, rate: rate, observed: observed, origin: origin, toleranceMilliseconds: 0)
        let shown = observed.map { o -> String in
            var o = o
            o.origin = origin
            return "  \(o)"
        }
        #expect(verdict.isEmpty, "\(name) at \(rate)/s:\n\(verdict)\nreceived:\n\(shown.joined(separator: "\n"))")
        let opened = run.hazards.map {
            ObservedHazard(rule: $0.rule, plant: $0.plant, equipment: $0.equipment, hazardClass: $0.hazardClass.rawValue, foundAt: $0.foundAt.milliseconds)
        }
        let hazards = scenario.hazardVerdict(rate: rate, observed: opened, origin: origin)
        #expect(hazards.missing.isEmpty && hazards.unexpected.isEmpty,
                "\(name) at \(rate)/s: hazards missing \(hazards.missing), unexpected \(hazards.unexpected); expected \(scenario.expectedHazards(rate: rate))")
    }

    /// Checkpoints hold the whole state: an engine restored from one every few scans (pending
    /// on-delays, interlock checks in progress, rate windows, health timers, chattering, numbering
    /// all cut at some point) emits exactly the events, in order, of one that ran through.
    @Test("an engine restored from a checkpoint goes on exactly as one that ran through", arguments: Scenario.all.map(\.name))
    func checkpointRestore(name: String) throws {
        let scenario = try #require(Scenario.named(name))
        let through = try scenarioEvents(scenario, rate: 2)
        for every in [3] {
            let restored = try scenarioEvents(scenario, rate: 2, restoreEvery: every)
            #expect(restored == through, "\(name), restored every \(every) scans: \(restored.count) events against \(through.count)")
        }
    }
}
