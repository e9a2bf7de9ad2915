import MeltWatchCore

/// The engine's whole mutable state as a value that can be written down and read back: every
/// monitor (limits, pending on-delays, interlock checks in progress, rate windows), every signal's
/// last reading and health, the alarm tracks and their numbering, the timers.
///
/// A checkpoint restores only into an engine built from the same model (same config hash, same
/// equipment and signals): the model is configuration, the checkpoint is state. Decoding needs that
/// model in `userInfo[EngineCheckpoint.modelKey]`, since monitors are rebuilt from its parameters
/// (what is configuration in them, such as an interlock's policies, is not encoded).
public struct EngineCheckpoint: Codable, Sendable {
    /// Bumped whenever the encoded state changes shape: an older checkpoint is then not restored
    /// (recovery falls back to a fresh start rather than misread it).
    public static let currentVersion = 2
    /// The `userInfo` key under which a decoder must find the ``EngineModel`` to restore into.
    public static let modelKey = CodingUserInfoKey(rawValue: "meltwatch.engine-model")!

    public var version: Int
    public var configHash: String
    var equipmentCount: Int
    var signalCount: Int
    var counters: Engine.Counters
    var signals: [SignalState]
    var lastTick: EventTime?
    var tracks: [Engine.AlarmTrack]
    var deviceTracks: [Engine.AlarmTrack]
    var setpointTracks: [Engine.AlarmTrack]
    var setpointActivations: [Int]
    var deviceActivations: [Int]
    var offsets: [Int64]
    var operating: [Bool]
    var wanted: [Int64?]
    var registered: [Int64?]
    var timers: MinHeap
    var chatter: [ChatterKey: EngineCore.Chatter]
    var chatterActivations: [Int: Int]
    var openEpisodes: Int
    var chatterDeadlines: [EventTime?]
    var health: [SignalHealth]
    var healthSchedule: HealthSchedule
    var silence: SilenceWatch
    var monitors: MonitorStates

    /// The monitors, encoded one after another in equipment order: copies of their states when taken
    /// from an engine, the monitors rebuilt with their states when decoded.
    struct MonitorStates: Codable, @unchecked Sendable {
        // @unchecked: `states` are Sendable values; `monitors` is filled only by decoding and used by
        // the one thread that then restores them into its engine.
        var states: [any Encodable & Sendable] = []
        var monitors: [any EquipmentMonitor] = []

        init(states: [any Encodable & Sendable]) { self.states = states }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.unkeyedContainer()
            for s in states { try c.encode(s) }
        }

        init(from decoder: any Decoder) throws {
            guard let model = decoder.userInfo[EngineCheckpoint.modelKey] as? EngineModel else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "no engine model to restore into"))
            }
            var c = try decoder.unkeyedContainer()
            monitors = try model.equipment.map { eq in
                let m = eq.template.makeMonitor(eq.params)
                try m.restoreState(from: &c)
                return m
            }
        }
    }
}

/// Why a checkpoint cannot be restored into an engine.
public struct CheckpointMismatch: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) { self.description = description }
}

extension Engine {
    /// The engine's state now, as a value (copy-on-write arrays and copies of the monitors' states:
    /// cheap to take on the engine thread, safe to encode on another).
    public func checkpoint() -> EngineCheckpoint {
        EngineCheckpoint(
            version: EngineCheckpoint.currentVersion, configHash: model.configHash,
            equipmentCount: model.equipment.count, signalCount: model.signals.count,
            counters: core.counters, signals: core.signals, lastTick: core.lastTick,
            tracks: core.tracks, deviceTracks: core.deviceTracks, setpointTracks: core.setpointTracks,
            setpointActivations: core.setpointActivations, deviceActivations: core.deviceActivations,
            offsets: core.offsets, operating: core.operating, wanted: core.wanted, registered: core.registered,
            timers: core.timers, chatter: core.chatter, chatterActivations: core.chatterActivations,
            openEpisodes: core.openEpisodes, chatterDeadlines: core.chatterDeadlines,
            health: core.health, healthSchedule: core.healthSchedule, silence: core.silence,
            monitors: EngineCheckpoint.MonitorStates(states: core.monitors.map { $0.stateSnapshot() })
        )
    }

    /// Replaces this engine's state by the checkpoint's. The engine must have been built from the
    /// model the checkpoint was taken with (checked by config hash and shape); nothing is changed
    /// when it throws.
    public func restore(_ c: EngineCheckpoint) throws {
        guard c.version == EngineCheckpoint.currentVersion else {
            throw CheckpointMismatch(description: "checkpoint version \(c.version), this build reads \(EngineCheckpoint.currentVersion)")
        }
        guard c.configHash == model.configHash else {
            throw CheckpointMismatch(description: "checkpoint of config \(c.configHash), engine runs \(model.configHash)")
        }
        let equipment = model.equipment.count, signals = model.signals.count
        guard c.equipmentCount == equipment, c.signalCount == signals, c.monitors.monitors.count == equipment,
              c.signals.count == signals, c.tracks.count == core.tracks.count, c.deviceTracks.count == core.deviceTracks.count,
              c.setpointTracks.count == core.setpointTracks.count, c.health.count == core.health.count,
              c.offsets.count == equipment, c.operating.count == equipment, c.wanted.count == equipment,
              c.registered.count == equipment, c.chatterDeadlines.count == equipment,
              c.setpointActivations.count == equipment, c.deviceActivations.count == core.deviceActivations.count,
              c.silence.silent.count == core.silence.silent.count, c.silence.isHeld.count == core.silence.isHeld.count
        else {
            throw CheckpointMismatch(description: "checkpoint shape does not match the model (\(c.equipmentCount) equipment, \(c.signalCount) signals)")
        }
        core.counters = c.counters
        core.signals = c.signals
        core.lastTick = c.lastTick
        core.tracks = c.tracks
        core.deviceTracks = c.deviceTracks
        core.setpointTracks = c.setpointTracks
        core.setpointActivations = c.setpointActivations
        core.deviceActivations = c.deviceActivations
        core.offsets = c.offsets
        core.operating = c.operating
        core.wanted = c.wanted
        core.registered = c.registered
        core.timers = c.timers
        core.chatter = c.chatter
        core.chatterActivations = c.chatterActivations
        core.openEpisodes = c.openEpisodes
        core.chatterDeadlines = c.chatterDeadlines
        core.health = c.health
        core.healthSchedule = c.healthSchedule
        core.silence = c.silence
        core.monitors = c.monitors.monitors
    }
}
