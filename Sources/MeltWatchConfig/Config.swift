import MeltWatchCore
import MeltWatchRules

/// The validated configuration (contract section 2). Every value is typed and checked; defaults are
/// applied; relative file paths are resolved against the config file's directory.
public struct MeltWatchConfig: Sendable {
    public var broker: Broker
    public var journal: Journal
    public var duty: Duty
    public var plants: [Plant]
    /// `shard:` — this instance monitors only its share of the equipment (nil: all of it).
    public var shard: Shard? = nil

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
    }

    /// One `duty.webhooks` entry.
    public struct Webhook: Sendable, Equatable {
        public var url: String
        /// The HMAC key file, resolved to an absolute or config-relative path.
        public var secretFile: String?
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

        /// Site params still at their placeholder default because the file does not set them.
        public var placeholderParams: [ParamSpec] {
            template.params.filter { $0.isSitePlaceholder && $0.defaultValue != nil && !explicitParams.contains($0.name) }
        }
    }

    /// One `setpoints:` entry: a PLC setpoint, where it is published, its approved value and tolerance.
    public struct Setpoint: Sendable, Equatable {
        public var name: String
        public var topic: String
        public var approved: Double
        public var tolerance: Double
        public var unit: String?
    }

    /// `signals.<role>` overrides.
    public struct SignalOverride: Sendable, Equatable {
        public var topic: String?
        public var staleAfterSeconds: Double?
        public var range: ClosedRange<Double>?
    }
}

/// One configured signal with its MQTT topic: the unit of interning (``SignalID``).
public struct ConfiguredSignal: Sendable, Equatable {
    public var id: SignalID
    public var plant: String
    public var equipment: String
    public var role: String
    public var topic: String
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

    /// Every configured signal, interned in config order (plant, equipment, template role order).
    public var signals: [ConfiguredSignal] {
        var out: [ConfiguredSignal] = []
        for (e, item) in allEquipment.enumerated() {
            for (r, role) in item.equipment.template.roles.enumerated() {
                let topic = item.equipment.signals[role.name]?.topic
                    ?? Self.defaultTopic(plant: item.plant.id, equipment: item.equipment.id, role: role.name)
                out.append(ConfiguredSignal(
                    id: SignalID(Int32(out.count)), plant: item.plant.id, equipment: item.equipment.id,
                    role: role.name, topic: topic, equipmentIndex: e, roleIndex: r
                ))
            }
            // Setpoints are signals of the equipment too (after its roles): routed, journaled and
            // replayed like any reading; the engine audits them instead of feeding the rules.
            let roles = item.equipment.template.roles.count
            for (k, sp) in item.equipment.setpoints.enumerated() {
                out.append(ConfiguredSignal(
                    id: SignalID(Int32(out.count)), plant: item.plant.id, equipment: item.equipment.id,
                    role: sp.name, topic: sp.topic, equipmentIndex: e, roleIndex: roles + k
                ))
            }
        }
        return out
    }

    /// The per-equipment batch topics (`plants/<plant>/<equipment>`).
    public var equipmentTopics: [EquipmentTopic] {
        var byEquipment: [Int: [String: SignalID]] = [:]
        for s in signals { byEquipment[s.equipmentIndex, default: [:]][s.role] = s.id }
        return allEquipment.enumerated().map { e, item in
            EquipmentTopic(topic: "plants/\(item.plant.id)/\(item.equipment.id)", roles: byEquipment[e] ?? [:])
        }
    }

    /// Every topic the daemon subscribes to: exactly the per-signal and per-equipment topics.
    public var subscriptionTopics: [String] {
        signals.map(\.topic) + equipmentTopics.map(\.topic)
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
                                    .init(name: $0.name, source: $0.topic, approved: $0.approved, tolerance: $0.tolerance, unit: $0.unit)
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
