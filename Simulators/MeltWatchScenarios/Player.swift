import MeltWatchConfig
import MeltWatchCore
import MeltWatchRules

/// One configured equipment as the simulator's gateway sees it.
public struct SimEquipment: Sendable {
    public var plant: String
    public var id: String
    public var template: String
    /// The template's roles, in template order (the order a scan publishes them).
    public var roles: [String]
    /// Numeric parameters, defaults applied.
    public var params: [String: Double]
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
            for (k, v) in eq.params { if case .number(let d) = v { params[k] = d } }
            var topics: [String: String] = [:]
            for r in eq.template.roles {
                topics[r.name] = eq.signals[r.name]?.topic ?? MeltWatchConfig.defaultTopic(plant: plant.id, equipment: eq.id, role: r.name)
            }
            let overridden = eq.signals.values.contains { $0.topic != nil }
            let batch = eq.template.name == "steel.water-cooled-element" && !overridden
            return SimEquipment(plant: plant.id, id: eq.id, template: eq.template.name, roles: eq.template.roles.map(\.name),
                                params: params, topics: topics, batchTopic: batch ? "plants/\(plant.id)/\(eq.id)" : nil)
        }
    }
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

/// Plays a scenario: for each scan, the healthy values of every equipment with the fault applied,
/// rendered as the gateway messages to publish. Deterministic given equipment, rate, seed and the
/// time origin: the same run publishes the same bytes.
public struct ScenarioPlayer {
    public let scenario: Scenario
    public let equipment: [SimEquipment]
    public let grid: ScanGrid
    /// The last scan is at or before this.
    public let duration: SimTime
    /// Epoch milliseconds of scenario time 0: every `ts` is origin + scan time.
    public let originMilliseconds: Int64
    private var rng: SplitMix64
    private var next = 0
    private var sequence: Int64 = 0

    /// A player for `scenario` over `equipment`, `rate` scans per second, noise from `seed`.
    public init(scenario: Scenario, equipment: [SimEquipment], rate: Double, seed: UInt64, originMilliseconds: Int64,
                duration: Double? = nil) {
        self.scenario = scenario
        self.equipment = equipment
        self.grid = ScanGrid(rate: rate)
        self.duration = SimTime(seconds: duration ?? scenario.duration)
        self.originMilliseconds = originMilliseconds
        rng = SplitMix64(seed: seed)
    }

    /// How many scans the run has (0 … duration inclusive).
    public var scanCount: Int { grid.scanCount(through: duration) }

    /// The next scan's time and messages; nil after the last scan.
    public mutating func nextScan() -> (time: SimTime, messages: [GatewayMessage])? {
        guard next < scanCount else { return nil }
        let t = grid.time(ofScan: next)
        next += 1
        let ts = originMilliseconds + t.milliseconds
        var messages: [GatewayMessage] = []
        for eq in equipment {
            var scan = Scan(values: HealthyPlant.values(template: eq.template, at: t, rng: &rng))
            let context = FaultContext(template: eq.template, equipment: eq.id, params: eq.params, grid: grid)
            scenario.fault(context, t, &scan)
            sequence += 1
            render(scan, of: eq, ts: ts, into: &messages)
        }
        return (t, messages)
    }

    /// Batch or per-signal messages for one equipment's scan; roles not in the template are dropped.
    /// A batch carries no per-value quality, so roles of other quality go per-signal beside it.
    private func render(_ scan: Scan, of eq: SimEquipment, ts: Int64, into out: inout [GatewayMessage]) {
        let roles = eq.roles.filter { scan.values[$0] != nil }
        var single = roles
        if let batchTopic = eq.batchTopic {
            let inBatch = roles.filter { (scan.quality[$0] ?? .good) == .good }
            single = roles.filter { (scan.quality[$0] ?? .good) != .good }
            if !inBatch.isEmpty {
                let body = inBatch.map { "\"\($0)\":\(scan.values[$0]!.json)" }.joined(separator: ",")
                out.append(GatewayMessage(topic: batchTopic, payload: "{\"ts\":\(ts),\"seq\":\(sequence),\"values\":{\(body)}}"))
            }
        }
        for role in single {
            let q = (scan.quality[role] ?? .good).name
            out.append(GatewayMessage(topic: eq.topics[role]!,
                                      payload: "{\"ts\":\(ts),\"v\":\(scan.values[role]!.json),\"q\":\"\(q)\",\"seq\":\(sequence)}"))
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
