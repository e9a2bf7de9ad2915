import MeltWatchCore
import MeltWatchRules

/// The validated configuration (contract section 2). Every value is typed and checked; defaults are
/// applied; relative file paths are resolved against the config file's directory.
public struct MeltWatchConfig: Sendable {
    public var broker: Broker
    public var journal: Journal
    public var duty: Duty
    public var plants: [Plant]
    /// `sparkplug.host_id`: MeltWatch is a Sparkplug Primary Host under this id (STATE, contract §3).
    public var sparkplugHostID: String? = nil
    /// `shard:` — this instance monitors only its share of the equipment (nil: all of it).
    public var shard: Shard? = nil
    /// `hazards:` — the hazard records (contract §7); the defaults when the file omits it.
    public var hazards = Hazards()

    /// `hazards:` (contract §2): the weekly table's campaign start, the 检查单位 of the plant's own
    /// findings, and the durations after which a bypass or an unhealthy mandated signal is a hazard.
    public struct Hazards: Sendable, Equatable {
        /// `campaign_start` (Beijing date): the weekly table counts from here (nil: from the first record).
        public var campaignStart: BeijingDate? = nil
        /// `inspector`: 检查单位 in the ledger.
        public var inspector: String = "安全环保部"
        /// `bypass_min`.
        public var bypassMinutes: Int = 10
        /// `device_min`.
        public var deviceMinutes: Int = 60

        public init() {}
    }

    /// One instance of several on the same broker (issue #8, scale-out): equipment are dealt to
    /// `count` instances by a stable hash of `plant:equipment`, so every signal of one equipment is
    /// on one instance and every instance, given the same plants, agrees on the split.
    public struct Shard: Sendable, Equatable {
        public var index: Int
        public var count: Int

        public init(index: Int, count: Int) {
            self.index = index
            self.count = count
        }

        /// Whether this instance monitors the equipment.
        public func owns(plant: String, equipment: String) -> Bool {
            Int(FNV1a.hash("\(plant):\(equipment)") % UInt64(count)) == index
        }
    }

    /// The equipment id of this instance's own alarms: `daemon`, or `daemon-<n>` for shard n.
    public var systemEquipment: String { shard.map { "daemon-\($0.index)" } ?? "daemon" }

    /// `broker:` — where the gateways publish.
    public struct Broker: Sendable, Equatable {
        /// `mqtt://host:port` or `mqtts://host:port`, as written.
        public var url: String
        public var host: String
        public var port: Int32
        public var tls: Bool
        public var clientID: String
        public var qos: Int32
        public var username: String?
        public var passwordFile: String?
        public var caFile: String?
        public var certFile: String?
        public var keyFile: String?
        /// `keepalive_s`: MQTT keepalive. libmosquitto pings after this long without traffic and
        /// drops the link when the answer does not come by the next period: a silently dead link
        /// (a cut cable, a dead switch) is known within twice this. Default 5.
        public var keepAliveSeconds: Int = 5
    }

    /// `journal:` — where every message is recorded.
    public struct Journal: Sendable, Equatable {
        public var dir: String
        public var fsyncIntervalMilliseconds: Int
        public var retentionDays: Int
        /// `max_bytes`: the size bound of `dir` (everything in it, the outbox included); past it the
        /// oldest sealed segments are removed. nil: no size bound.
        public var maxBytes: UInt64? = nil
        /// `min_free`: free space on the journal's file system below which the oldest sealed segments
        /// are removed (0: no such check).
        public var minFreeBytes: UInt64 = 1 << 30
        /// `checkpoint_interval_s`: how often the engine's state is written into the journal; a
        /// restart replays at most this much of the journal.
        public var checkpointIntervalSeconds: Int = 60
    }

    /// `duty:` — how alarms reach the 24-hour duty room.
    public struct Duty: Sendable, Equatable {
        public var listenHost: String
        public var listenPort: Int
        public var webhooks: [Webhook]
        public var mqttTopicPrefix: String?
        public var heartbeatSeconds: Int
        public var escalateAfterSeconds: Int
        public var tokensFile: String?
        /// `duty.public_url`: how the duty room reaches the console (its origin may write; links).
        public var publicURL: String?
        /// `duty.max_connections`: concurrent HTTP connections, SSE included; past it new ones wait
        /// unaccepted (the daemon's own descriptors are never the ones to run out).
        public var maxConnections: Int = 256
        /// `duty.channels`: the duty officers' chat robots (contract §8).
        public var channels: [Channel] = []

        /// Whether `listenHost` is this machine's loopback only (then a tokens file is optional).
        public var listensOnLoopbackOnly: Bool { Loopback.isLoopback(host: listenHost) }
    }

    /// One `duty.channels` entry: a DingTalk, WeCom or Feishu group robot.
    public struct Channel: Sendable, Equatable {
        public enum Kind: String, Sendable, CaseIterable { case dingtalk, wecom, feishu }
        public var kind: Kind
        /// The robot's URL, read from `url_file` (it carries the robot's token: never inline).
        public var url: String
        public var urlFile: String
        /// The signing secret file (DingTalk and Feishu), resolved.
        public var secretFile: String?
        /// Events of alarms at or above this priority (`emergency`, `high`, `medium`, `low`).
        public var minPriority: AlarmEvent.Priority = .high
        /// The robot's rate: messages a minute; past it, one digest.
        public var perMinute: Int = 20
    }

    /// One `duty.webhooks` entry.
    public struct Webhook: Sendable, Equatable {
        /// The URL: inline (`url`), or read from `url_file` when the URL carries its credential
        /// (a robot's token): then only the file's path is in the config, and so in the journal.
        public var url: String
        /// The HMAC key file, resolved to an absolute or config-relative path.
        public var secretFile: String?
        /// `url_file`, resolved, when the URL came from a file.
        public var urlFile: String? = nil
    }

    /// One plant.
    public struct Plant: Sendable {
        public var id: String
        public var name: String
        /// `industry`: the ledger's 行业类别 and the clause CO detectors cite; when the file omits it,
        /// inferred from the templates (``Industry/inferred(fromTemplates:)``).
        public var industry: Industry = .steel
        /// `region`: the ledger's 所在市(县、区), free text.
        public var region: String? = nil
        public var equipment: [Equipment]
        /// `gateways:`: the gateway formats this plant's gateways publish besides MeltWatch's own JSON.
        public var gateways: [Gateway] = []
    }

    /// One monitored piece of equipment.
    public struct Equipment: Sendable {
        public var id: String
        public var template: TemplateSpec
        /// Parameters with defaults applied.
        public var params: [String: ParamValue]
        /// Per-role overrides from `signals:`.
        public var signals: [String: SignalOverride]
        /// `setpoints:`: the PLC setpoints audited on this equipment.
        public var setpoints: [Setpoint] = []
        /// The params the file sets; the others are the template's defaults.
        public var explicitParams: Set<String> = []
        /// `sparkplug: {edge, device}`: the Sparkplug edge node (and device) this equipment's metrics
        /// come from; its roles are read there, by metric name (the role name, or `signals.<role>.tag`).
        public var sparkplug: SparkplugSource? = nil

        /// Site params still at their placeholder default because the file does not set them.
        public var placeholderParams: [ParamSpec] {
            template.params.filter { $0.isSitePlaceholder && $0.defaultValue != nil && !explicitParams.contains($0.name) }
        }
    }

    /// One `setpoints:` entry: a PLC setpoint, where it is published, its approved value and tolerance.
    public struct Setpoint: Sendable, Equatable {
        public var name: String
        /// A topic of MeltWatch's own JSON, or nil when read by `tag` from a gateway format.
        public var topic: String?
        public var tag: String? = nil
        public var approved: Double
        public var tolerance: Double
        public var unit: String?
    }

    /// `signals.<role>` overrides.
    public struct SignalOverride: Sendable, Equatable {
        public var topic: String?
        /// A tag of a declared gateway format (contract §3).
        public var tag: String? = nil
        public var staleAfterSeconds: Double?
        public var range: ClosedRange<Double>?
    }
}

/// Where a signal's readings come from.
public enum SignalSource: Sendable, Equatable, CustomStringConvertible {
    /// A topic of MeltWatch's own JSON (per signal; the equipment's batch topic also carries it).
    case topic(String)
    /// A plant-wide tag of the plant's `kepware-iot`, `neuron` or `json` gateways.
    case tag(String)
    /// A metric of a Sparkplug edge node (device nil: a node metric) in a group.
    case sparkplug(group: String, edge: String, device: String?, metric: String)

    public var description: String {
        switch self {
        case .topic(let t): t
        case .tag(let t): "tag \(t)"
        case .sparkplug(let g, let e, let d, let m): "spBv1.0/\(g)/\(e)\(d.map { "/" + $0 } ?? "") \(m)"
        }
    }
}

/// One configured signal with its source: the unit of interning (``SignalID``).
public struct ConfiguredSignal: Sendable, Equatable {
    public var id: SignalID
    public var plant: String
    public var equipment: String
    public var role: String
    public var source: SignalSource
    /// The topic of MeltWatch's own JSON, when that is the source.
    public var topic: String? {
        if case .topic(let t) = source { return t }
        return nil
    }
    /// Index of the equipment in ``MeltWatchConfig/allEquipment``.
    public var equipmentIndex: Int
    public var roleIndex: Int
}

/// The per-equipment batch topic of one equipment and its roles.
public struct EquipmentTopic: Sendable, Equatable {
    public var topic: String
    /// Role name → signal id.
    public var roles: [String: SignalID]
}

extension MeltWatchConfig {
    /// Every equipment of every plant, in config order, with its plant id.
    public var allEquipment: [(plant: Plant, equipment: Equipment)] {
        plants.flatMap { p in p.equipment.map { (p, $0) } }
    }

    /// The default per-signal topic: `plants/<plant>/<equipment>/<role>`.
    public static func defaultTopic(plant: String, equipment: String, role: String) -> String {
        "plants/\(plant)/\(equipment)/\(role)"
    }

    /// Where one role of an equipment is read: its `topic:` override; else its `tag:`, as a Sparkplug
    /// metric when the equipment names an edge node, else a plant-wide tag; else, on a Sparkplug
    /// equipment, the metric of the role's name; else the default topic.
    public static func source(plant: Plant, equipment: Equipment, role: String) -> SignalSource {
        let override = equipment.signals[role]
        if let topic = override?.topic { return .topic(topic) }
        if let sp = equipment.sparkplug {
            return .sparkplug(group: sp.group, edge: sp.edge, device: sp.device, metric: override?.tag ?? role)
        }
        if let tag = override?.tag { return .tag(tag) }
        return .topic(defaultTopic(plant: plant.id, equipment: equipment.id, role: role))
    }

    /// Every configured signal, interned in config order (plant, equipment, template role order).
    public var signals: [ConfiguredSignal] {
        var out: [ConfiguredSignal] = []
        for (e, item) in allEquipment.enumerated() {
            for (r, role) in item.equipment.template.roles.enumerated() {
                out.append(ConfiguredSignal(
                    id: SignalID(Int32(out.count)), plant: item.plant.id, equipment: item.equipment.id,
                    role: role.name, source: Self.source(plant: item.plant, equipment: item.equipment, role: role.name),
                    equipmentIndex: e, roleIndex: r
                ))
            }
            // Setpoints are signals of the equipment too (after its roles): routed, journaled and
            // replayed like any reading; the engine audits them instead of feeding the rules.
            let roles = item.equipment.template.roles.count
            for (k, sp) in item.equipment.setpoints.enumerated() {
                let source: SignalSource
                if let topic = sp.topic {
                    source = .topic(topic)
                } else if let s = item.equipment.sparkplug {
                    source = .sparkplug(group: s.group, edge: s.edge, device: s.device, metric: sp.tag ?? sp.name)
                } else {
                    source = .tag(sp.tag ?? sp.name)
                }
                out.append(ConfiguredSignal(
                    id: SignalID(Int32(out.count)), plant: item.plant.id, equipment: item.equipment.id,
                    role: sp.name, source: source, equipmentIndex: e, roleIndex: roles + k
                ))
            }
        }
        return out
    }

    /// The per-equipment batch topics (`plants/<plant>/<equipment>`) of the equipment with roles
    /// read from MeltWatch's own JSON; the batch names those roles only.
    public var equipmentTopics: [EquipmentTopic] {
        var byEquipment: [Int: [String: SignalID]] = [:]
        for s in signals where s.topic != nil { byEquipment[s.equipmentIndex, default: [:]][s.role] = s.id }
        return allEquipment.enumerated().compactMap { e, item in
            guard let roles = byEquipment[e] else { return nil }
            return EquipmentTopic(topic: "plants/\(item.plant.id)/\(item.equipment.id)", roles: roles)
        }
    }

    /// Every topic filter the daemon subscribes to: the per-signal and per-equipment topics of
    /// MeltWatch's own JSON, then each gateway format's filter.
    public var subscriptionTopics: [String] {
        signals.compactMap(\.topic) + equipmentTopics.map(\.topic) + plants.flatMap { $0.gateways.map(\.filter) }
    }

    /// The engine's view of this configuration.
    public func engineModel(configHash: String) -> EngineModel {
        // Once: `allEquipment` builds the list anew on every use (per signal, that was quadratic:
        // 2 s of a 1 000-equipment daemon's start).
        let allEquipment = allEquipment
        return EngineModel(
            equipment: allEquipment.map {
                EngineEquipment(plant: $0.plant.id, id: $0.equipment.id, template: $0.equipment.template, params: $0.equipment.params,
                                industry: $0.plant.industry,
                                setpoints: $0.equipment.setpoints.map {
                                    .init(name: $0.name, source: $0.topic ?? $0.tag ?? $0.name, approved: $0.approved, tolerance: $0.tolerance, unit: $0.unit)
                                })
            },
            signals: signals.map { s in
                let eq = allEquipment[s.equipmentIndex].equipment
                // A setpoint's health is not judged: published on change, it may be silent for months.
                guard s.roleIndex < eq.template.roles.count else { return EngineSignal(equipment: s.equipmentIndex, role: s.roleIndex) }
                let override = eq.signals[s.role]
                var staleAfter = 30.0, frozenAfter = 600.0
                if case .number(let v)? = eq.params["stale_after_s"] { staleAfter = v }
                if case .number(let v)? = eq.params["frozen_after_s"] { frozenAfter = v }
                let health = HealthSettings(
                    staleAfterMilliseconds: Int64((override?.staleAfterSeconds ?? staleAfter) * 1000),
                    frozenAfterMilliseconds: Int64(frozenAfter * 1000), range: override?.range,
                    required: !eq.template.roles[s.roleIndex].isOptional
                )
                return EngineSignal(equipment: s.equipmentIndex, role: s.roleIndex, health: health)
            },
            configHash: configHash
        )
    }
}
