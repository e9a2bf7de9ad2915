import MeltWatchConfig
import MeltWatchCore
import MeltWatchRules

/// One configured equipment as the simulator's gateway sees it.
public struct SimEquipment: Sendable {
    public var plant: String
    public var id: String
    public var templateID: TemplateID
    /// The template's name as configs write it.
    public var template: String { templateID.rawValue }
    /// The template's roles, in template order (the order a scan publishes them).
    public var roles: [String]
    /// Numeric parameters, defaults applied.
    public var params: [String: Double]
    /// Choice parameters as configured or defaulted (`furnace_type: eaf`, `furnace: tilting`).
    public var choices: [String: String] = [:]
    /// Role → per-signal topic (the default or the configured override).
    public var topics: [String: String]
    /// Set when the gateway publishes one batch per scan on the equipment topic.
    public var batchTopic: String?

    /// Every equipment of `config`, in config order.
    ///
    /// Water-cooled elements without topic overrides publish one batch per PLC scan (contract §3,
    /// per-equipment batch); everything else publishes one message per signal.
    public static func all(in config: MeltWatchConfig) -> [SimEquipment] {
        config.allEquipment.map { plant, eq in
            var params: [String: Double] = [:]
            var choices: [String: String] = [:]
            for (k, v) in eq.params {
                switch v {
                case .number(let d): params[k] = d
                case .choice(let c): choices[k] = c
                case .roles: break
                }
            }
            var topics: [String: String] = [:]
            for r in eq.template.roles {
                topics[r.name] = eq.signals[r.name]?.topic ?? MeltWatchConfig.defaultTopic(plant: plant.id, equipment: eq.id, role: r.name)
            }
            // The PLC's setpoints, where the config audits them: published like any tag when a scenario sets them.
            for sp in eq.setpoints { topics[sp.name] = sp.topic }
            let overridden = eq.signals.values.contains { $0.topic != nil }
            let batch = eq.template.id == .waterCooledElement && !overridden
            return SimEquipment(plant: plant.id, id: eq.id, templateID: eq.template.id,
                                roles: eq.template.roles.map(\.name) + eq.setpoints.map(\.name),
                                params: params, choices: choices, topics: topics,
                                batchTopic: batch ? "plants/\(plant.id)/\(eq.id)" : nil)
        }
    }
}

/// One value a scan published, whatever the gateway format renders it as.
public struct SimSample: Sendable, Equatable {
    /// Index into the player's equipment.
    public var equipment: Int
    public var role: String
    public var value: Value
    public var quality: Quality
    /// Event time, ms since the epoch.
    public var time: Int64
}

/// One MQTT message a gateway publishes (contract section 3).
public struct GatewayMessage: Sendable, Equatable {
    public var topic: String
    public var payload: String

    /// A message for `topic`.
    public init(topic: String, payload: String) {
        self.topic = topic
        self.payload = payload
    }
}

/// How a simulated gateway publishes (contract section 3).
public enum PublishMode: String, Sendable, CaseIterable {
    /// Every role on every scan; water-cooled elements without topic overrides as one per-scan batch,
    /// everything else one message per signal (the fault scenarios' default).
    case auto
    /// One per-scan batch per equipment on `plants/<plant>/<equipment>`, every scan.
    case perScan = "per-scan"
    /// One message per tag, reported by exception: when it moved by more than its deadband, at least
    /// every period of its ``TagReporting``, booleans on every change (the plant models' default).
    case perTag = "per-tag"
    /// A gateway that polls each PLC every 2–5 s (the interval drawn anew each time: a slow poll
    /// cycle or a congested link) and publishes what it read, one message per tag with the poll's
    /// timestamp. Rate rules then judge changes between readings seconds apart.
    case sparse
}

/// Plays a scenario: for each scan, the baseline values of every equipment (steady or modelled) with
/// the fault applied, rendered as the gateway messages to publish. Deterministic given equipment,
/// rate, seed, publish mode and the time origin: the same run publishes the same bytes.
public struct ScenarioPlayer {
    public let scenario: Scenario
    public let equipment: [SimEquipment]
    public let grid: ScanGrid
    /// The last scan is at or before this.
    public let duration: SimTime
    /// Epoch milliseconds of scenario time 0: every `ts` is origin + scan time.
    public let originMilliseconds: Int64
    public let publish: PublishMode
    private var rng: SplitMix64
    private var next = 0
    private var sequence: Int64 = 0
    /// Every value the last ``nextScan()`` published, for gateway formats other than MeltWatch's own
    /// JSON (which render the same values their own way).
    public private(set) var samples: [SimSample] = []
    /// Per equipment, its model (``HealthyPlant``'s steady values for a steady baseline).
    private var models: [any EquipmentModel]
    /// Per equipment and role, what was last published (per-tag mode).
    private var published: [[String: (value: SimValue, quality: Quality, at: SimTime)]]
    /// Per equipment, when its gateway polls next (sparse mode), and the jitter behind it (its own
    /// generator, so the plant's values are the same in every mode).
    private var due: [SimTime?]
    private var jitter: SplitMix64

    /// A player for `scenario` over `equipment`, `rate` scans per second, noise from `seed`, publishing
    /// as `publish` says (nil: the scenario's own mode).
    public init(scenario: Scenario, equipment: [SimEquipment], rate: Double, seed: UInt64, originMilliseconds: Int64,
                duration: Double? = nil, publish: PublishMode? = nil) {
        self.scenario = scenario
        self.equipment = equipment
        self.grid = ScanGrid(rate: rate)
        self.duration = SimTime(seconds: duration ?? scenario.duration)
        self.originMilliseconds = originMilliseconds
        self.publish = publish ?? scenario.publish
        rng = SplitMix64(seed: seed)
        switch scenario.baseline {
        case .steady: models = equipment.map { SteadyModel(template: $0.templateID) }
        case .models(let starts): models = equipment.map { PlantModels.model(for: $0, cycleStarts: starts) }
        }
        published = equipment.map { _ in [:] }
        due = equipment.map { _ in nil }
        jitter = SplitMix64(seed: seed ^ 0x5350_4152_5345)  // "SPARSE"
    }

    /// How many scans the run has (0 … duration inclusive).
    public var scanCount: Int { grid.scanCount(through: duration) }

    /// Each modelled equipment's process phase at `t` (`bof1-lance: 吹炼 blowing`), for logs.
    public func modelPhases(at t: SimTime) -> [(equipment: String, phase: String)] {
        guard case .models = scenario.baseline else { return [] }
        return zip(equipment, models).map { eq, model in (eq.id, model.phase(at: t)) }
    }

    /// The next scan's time and messages; nil after the last scan.
    public mutating func nextScan() -> (time: SimTime, messages: [GatewayMessage])? {
        guard next < scanCount else { return nil }
        samples.removeAll(keepingCapacity: true)
        let t = grid.time(ofScan: next)
        next += 1
        let ts = originMilliseconds + t.milliseconds
        var messages: [GatewayMessage] = []
        for i in equipment.indices {
            let eq = equipment[i]
            var scan = Scan(values: models[i].values(at: t, rng: &rng))
            let context = FaultContext(template: eq.template, equipment: eq.id, params: eq.params, grid: grid)
            scenario.fault(context, t, &scan)
            sequence += 1
            render(scan, of: i, at: t, ts: ts, into: &messages)
        }
        return (t, messages)
    }

    /// The messages for one equipment's scan; roles not in the template are dropped. A batch carries
    /// no per-value quality, so roles of other quality go per-signal beside it.
    private mutating func render(_ scan: Scan, of index: Int, at t: SimTime, ts: Int64, into out: inout [GatewayMessage]) {
        let eq = equipment[index]
        let roles = eq.roles.filter { scan.values[$0] != nil }
        func quality(_ role: String) -> Quality { scan.quality[role] ?? .good }
        var single = roles
        let batchTopic: String? = switch publish {
        case .auto: eq.batchTopic
        case .perScan: "plants/\(eq.plant)/\(eq.id)"
        case .perTag, .sparse: nil
        }
        if let batchTopic {
            let inBatch = roles.filter { quality($0) == .good }
            single = roles.filter { quality($0) != .good }
            for role in inBatch { samples.append(SimSample(equipment: index, role: role, value: scan.values[role]!.published, quality: .good, time: ts)) }
            if !inBatch.isEmpty {
                let body = inBatch.map { "\"\($0)\":\(scan.values[$0]!.json)" }.joined(separator: ",")
                out.append(GatewayMessage(topic: batchTopic, payload: "{\"ts\":\(ts),\"seq\":\(sequence),\"values\":{\(body)}}"))
            }
        } else if publish == .sparse {
            if let at = due[index], t < at {
                single = []
            } else {
                due[index] = t + 2 + 3 * Random.unit(&jitter)
            }
        } else if publish == .perTag {
            single = roles.filter { role in
                let value = scan.values[role]!
                guard let last = published[index][role], last.quality == quality(role) else { return true }
                let reporting = models[index].reporting(of: role)
                if (t - last.at).milliseconds >= SimTime(seconds: reporting.period).milliseconds { return true }
                switch (value.published, last.value.published) {
                case (.number(let a), .number(let b)): return abs(a - b) > reporting.deadband
                default: return value != last.value
                }
            }
        }
        for role in single {
            let q = quality(role)
            if publish == .perTag { published[index][role] = (scan.values[role]!, q, t) }
            samples.append(SimSample(equipment: index, role: role, value: scan.values[role]!.published, quality: q, time: ts))
            out.append(GatewayMessage(topic: eq.topics[role]!,
                                      payload: "{\"ts\":\(ts),\"v\":\(scan.values[role]!.json),\"q\":\"\(q.name)\",\"seq\":\(sequence)}"))
        }
    }

    /// Settings the scenario's rig relies on that `equipment` does not match (one line each): the
    /// expected alarms may not hold for such a config.
    public static func rigMismatches(_ scenario: Scenario, equipment: [SimEquipment]) -> [String] {
        var problems: [String] = []
        for r in scenario.rig.equipment {
            let candidates = equipment.filter { $0.template == r.template }
            guard let eq = candidates.first(where: { $0.id == r.id }) ?? candidates.first else {
                problems.append("no \(r.template) equipment in the config (the scenario's \(r.id))")
                continue
            }
            for p in TemplateCatalog.named(r.template)?.params ?? [] {
                guard let want = r.number(p.name), let have = eq.params[p.name], want != have else { continue }
                problems.append("\(eq.id) \(p.name) is \(plain(have)), the scenario expects \(plain(want))")
            }
        }
        return problems
    }
}

/// A number as a person writes it in YAML: `600`, `9.3`.
func plain(_ d: Double) -> String {
    d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
}
