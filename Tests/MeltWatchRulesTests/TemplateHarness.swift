import MeltWatchCore

@testable import MeltWatchRules

/// One input of a table-driven template test: a reading or a clock tick, at seconds after ``Harness/t0``.
struct Step: Sendable, CustomStringConvertible {
    var seconds: Double
    /// The role, or nil for a daemon clock tick.
    var role: String?
    var value: Value
    var quality: Quality

    /// A numeric reading.
    static func n(_ s: Double, _ role: String, _ v: Double, _ q: Quality = .good) -> Step {
        Step(seconds: s, role: role, value: .number(v), quality: q)
    }

    /// A boolean reading.
    static func b(_ s: Double, _ role: String, _ v: Bool, _ q: Quality = .good) -> Step {
        Step(seconds: s, role: role, value: .bool(v), quality: q)
    }

    /// A daemon clock tick: delays that expired (plus the engine's 1 s allowed lateness) fire.
    static func tick(_ s: Double) -> Step { Step(seconds: s, role: nil, value: .bool(false), quality: .good) }

    var description: String { "\(role ?? "tick")@\(seconds)=\(value)\(quality == .good ? "" : "(\(quality.name))")" }
}

/// Drives one equipment of a template through the ``Engine`` on a manual clock: every time is an
/// event time the test constructs; nothing sleeps. The daemon clock tracks the gateway's: each
/// reading is preceded by a tick at its own time (unless that would go backwards), and allowed
/// lateness is 0, so a tick exactly at a deadline fires it (EngineTests covers lateness and skew).
final class Harness {
    static let t0: Int64 = 1_763_884_800_000
    static func time(_ s: Double) -> EventTime { EventTime(milliseconds: t0 + Int64((s * 1000).rounded())) }
    static func seconds(_ t: EventTime) -> Double { Double(t.milliseconds - t0) / 1000 }

    let spec: TemplateSpec
    let engine: Engine
    private(set) var events: [AlarmEvent] = []
    private(set) var outcomes: [InterlockOutcome] = []

    /// Defaults from the spec, `params` overriding them; `health` judges every role as the daemon does
    /// (stale 30 s, frozen 600 s), otherwise health is off so tests see only the template's rules.
    init(_ spec: TemplateSpec, params: [String: Double] = [:], choices: [String: String] = [:], health: Bool = false,
         industry: Industry = .steel) {
        self.spec = spec
        var resolved = Dictionary(uniqueKeysWithValues: spec.params.compactMap { p in p.defaultValue.map { (p.name, $0) } })
        for (name, v) in params {
            precondition(spec.param(name) != nil, "no param \(name)")
            resolved[name] = .number(v)
        }
        for (name, v) in choices {
            precondition(spec.param(name) != nil, "no param \(name)")
            resolved[name] = .choice(v)
        }
        let roles = spec.roles
        let model = EngineModel(
            equipment: [EngineEquipment(plant: "p", id: "e1", template: spec, params: resolved, industry: industry)],
            signals: roles.indices.map { r in
                EngineSignal(equipment: 0, role: r, health: health ? HealthSettings(
                    staleAfterMilliseconds: 30_000, frozenAfterMilliseconds: 600_000, range: nil,
                    required: !roles[r].isOptional) : nil)
            },
            configHash: "sha256:test"
        )
        engine = Engine(model: model, allowedLatenessMilliseconds: 0)
        engine.onInterlockOutcome = { [unowned self] in self.outcomes.append($0) }
    }

    /// Feeds the steps in order and returns self for chaining.
    @discardableResult
    func run(_ steps: [Step]) -> Harness {
        for s in steps {
            let at = Self.time(s.seconds)
            if engine.lastTick.map({ at > $0 }) ?? true {
                engine.process(.tick(at)) { self.events.append($0) }
            }
            guard let role = s.role else { continue }
            let id = SignalID(Int32(spec.roleIndex(role)!))
            engine.process(.reading(Reading(signal: id, value: s.value, quality: s.quality, time: at))) { self.events.append($0) }
        }
        return self
    }

    /// "rule kind@seconds" per alarm event, device alarms as "rule kind role@seconds".
    var summary: [String] {
        events.map { e in
            let at = Self.seconds(e.eventTime)
            return e.alarmClass == .device ? "\(e.rule) \(e.kind.rawValue) \(e.signals[0])@\(at)" : "\(e.rule) \(e.kind.rawValue)@\(at)"
        }
    }

    /// The alarm events of one rule.
    func events(_ rule: String) -> [AlarmEvent] { events.filter { $0.rule == rule } }
}
