import MeltWatchCore

/// One cause, one alarm (domain.md "Sensor health"; EEMUA 191 consequential alarms): when the broker
/// link is down, or a whole plant's gateway falls silent while the broker is fine, the signals stop
/// because of it. The duty room gets the one alarm that names the cause — `broker-lost` from the
/// ingest thread, `gateway-silent` from here, with the count of signals that stopped — and the
/// per-signal `stale` alarms it explains are not raised: those signals are unknown, not sick.
///
/// - **The link.** While it is down (``EngineInput/link(up:at:)``) no staleness is judged and the
///   equipment timers do not run: there is no evidence either way, and the readings of the outage
///   come from the broker's queue after it. When it comes back, the outage is time that did not
///   happen for the equipment timers (their keys move by its length, as after a clock step), and
///   every signal gets its whole `stale_after_s` again before it may go stale.
/// - **A plant's gateway.** A plant is silent when no reading of any of its signals arrived for its
///   shortest `stale_after_s` (daemon clock): one `gateway-silent` device alarm on the plant's
///   pseudo-equipment `gateway`, its value the number of signals that stopped. A signal whose own
///   stale deadline comes while the plant has shown no sign of life for half that bound is held: it
///   goes stale on its own only once another reading of its plant shows the gateway alive, and
///   otherwise falls under the plant's `gateway-silent`. When a reading of a silent plant arrives,
///   the alarm clears and every signal of the plant gets its `stale_after_s` again.
struct SilenceWatch: Codable {
    /// Whether the broker link is up (true until told otherwise: a journal without link records).
    var linkUp = true
    /// When the link went down (daemon clock), while it is down.
    var downSince: EventTime?
    /// Per plant: daemon time (ms) of its latest reading, or of the moment watching it (re)started;
    /// `Int64.min` before either (a plain integer: every reading compares with it).
    var lastArrival: [Int64]
    /// Per plant: whether its `gateway-silent` alarm is raised.
    var silent: [Bool]
    /// Per plant: its `gateway-silent` alarm track and numbering.
    var tracks: [Engine.AlarmTrack]
    var activations: [Int]
    /// Per plant: health slots whose stale deadline passed while the plant showed no sign of life.
    var held: [[Int]]
    /// Per health slot: whether it is in its plant's `held`.
    var isHeld: [Bool]

    init(plants: Int, slots: Int) {
        isHeld = Array(repeating: false, count: slots)
        lastArrival = Array(repeating: .min, count: plants)
        silent = Array(repeating: false, count: plants)
        tracks = Array(repeating: Engine.AlarmTrack(), count: plants)
        activations = Array(repeating: 0, count: plants)
        held = Array(repeating: [], count: plants)
    }
}

/// The plants of a model, for ``SilenceWatch``: configuration, rebuilt with the engine.
struct PlantLayout {
    /// Plant ids in order of first appearance in the model.
    var ids: [String] = []
    /// Per equipment: its plant's index.
    var plantOfEquipment: [Int] = []
    /// Per plant: the health slots of its signals, ascending.
    var slots: [[Int]] = []
    /// Per plant: the shortest `stale_after` of its signals (0 when none is judged).
    var staleAfterMilliseconds: [Int64] = []

    /// Plant ids in order of first appearance, and each equipment's plant index.
    static func plantIndices(_ model: EngineModel) -> (ids: [String], perEquipment: [Int]) {
        var index: [String: Int] = [:], ids: [String] = []
        let perEquipment = model.equipment.map { eq in
            if let known = index[eq.plant] { return known }
            index[eq.plant] = ids.count
            ids.append(eq.plant)
            return ids.count - 1
        }
        return (ids, perEquipment)
    }

    init(model: EngineModel, equipmentHealthSlots: [[Int]], health: [SignalHealth]) {
        (ids, plantOfEquipment) = Self.plantIndices(model)
        slots = Array(repeating: [], count: ids.count)
        staleAfterMilliseconds = Array(repeating: 0, count: ids.count)
        for e in model.equipment.indices {
            let p = plantOfEquipment[e]
            for slot in equipmentHealthSlots[e] {
                slots[p].append(slot)
                let s = health[slot].staleAfterMilliseconds
                staleAfterMilliseconds[p] = staleAfterMilliseconds[p] == 0 ? s : min(staleAfterMilliseconds[p], s)
            }
        }
        for p in slots.indices { slots[p].sort() }
    }
}

extension EngineCore {
    static let gatewaySilentRule = "gateway-silent"
    /// The pseudo-equipment a plant's `gateway-silent` alarm is on (`<plant>:gateway:gateway-silent:<n>`;
    /// no template has that rule, so the id cannot meet an equipment's own alarm).
    static let gatewayEquipment = "gateway"

    /// The broker link went down or came back (journaled by the ingest thread at that point of the stream).
    @inline(never)
    mutating func link(up: Bool, at time: EventTime) {
        if !up {
            guard silence.linkUp else { return }
            silence.linkUp = false
            silence.downSince = time
            return
        }
        guard !silence.linkUp else { return }
        let down = silence.downSince ?? time
        silence.linkUp = true
        silence.downSince = nil
        // The equipment timers stood still: their deadlines are as far away as when the link went down.
        let paused = max(0, time.milliseconds(since: down))
        if paused > 0 { shiftEquipmentTimers(by: paused) }
        restartWatching(slots: health.indices, at: time)
        for p in plants.ids.indices {
            releaseHeld(p)
            if silence.lastArrival[p] >= time.milliseconds { continue }
            silence.lastArrival[p] = time.milliseconds
        }
    }

    /// The daemon clock was rebased by `delta` ms (the wall clock stepped): every daemon-clock instant
    /// the engine holds moves with it, so every timer has as long to run as before the step.
    @inline(never)
    mutating func shiftClock(by delta: Int64) {
        guard delta != 0 else { return }
        lastTick = lastTick?.adding(milliseconds: delta)
        arrival = arrival?.adding(milliseconds: delta)
        shiftEquipmentTimers(by: delta)
        for slot in health.indices { health[slot].shift(by: delta) }
        healthSchedule.shift(by: delta)
        for p in silence.lastArrival.indices where silence.lastArrival[p] != .min { silence.lastArrival[p] += delta }
        silence.downSince = silence.downSince?.adding(milliseconds: delta)
    }

    /// Moves the equipment timers' daemon-clock keys by `delta`: equipment time (daemon clock minus
    /// offset) stays where it was.
    private mutating func shiftEquipmentTimers(by delta: Int64) {
        for e in offsets.indices {
            offsets[e] += delta
            wanted[e] = wanted[e].map { $0 + delta }
            registered[e] = registered[e].map { $0 + delta }
        }
        timers.shift(by: delta)
    }

    /// Every slot in `slots` gets its whole `stale_after` from `time` (and is rescheduled).
    private mutating func restartWatching(slots: some Sequence<Int>, at time: EventTime) {
        for slot in slots {
            health[slot].restartStaleWindow(at: time)
            healthSchedule.update(slot, deadline: health[slot].deadline)
        }
    }

    /// A reading of a signal of plant `p` arrived at daemon time `time`: the plant's gateway is alive.
    /// Every reading calls it, so the usual case — not the first reading of its plant at this tick —
    /// is one comparison, inlined; nothing can be pending then (a plant is silent, and a signal
    /// held, only at a tick later than the plant's last arrival).
    @inline(__always)
    mutating func plantReading(_ p: Int, at time: EventTime) {
        if silence.lastArrival[p] != time.milliseconds { plantArrival(p, at: time) }
    }

    @inline(never)
    private mutating func plantArrival(_ p: Int, at time: EventTime) {
        guard silence.lastArrival[p] < time.milliseconds else { return }  // a clock the plant already passed
        silence.lastArrival[p] = time.milliseconds
        if silence.silent[p] {
            silence.silent[p] = false
            var track = silence.tracks[p]
            if track.transition(raised: false, activations: &silence.activations[p]) {
                silence.tracks[p] = track
                notices.append(.event(gatewayEvent(plant: p, raised: false, count: 0, at: time, detail: "网关恢复：收到数据 (gateway alive again: readings resumed)")))
            }
            releaseHeld(p)
            restartWatching(slots: plants.slots[p], at: time)
        } else if !silence.held[p].isEmpty {
            // The gateway is alive: the held signals really stopped on their own. Due again at the next tick.
            for slot in silence.held[p] { healthSchedule.update(slot, deadline: health[slot].deadline) }
            releaseHeld(p)
        }
    }

    private mutating func releaseHeld(_ p: Int) {
        for slot in silence.held[p] { silence.isHeld[slot] = false }
        silence.held[p].removeAll()
    }

    /// At a tick (link up): raises `gateway-silent` for every plant silent longer than its bound.
    mutating func watchGateways(_ now: EventTime) {
        for p in plants.ids.indices where !silence.silent[p] && plants.staleAfterMilliseconds[p] > 0 {
            guard silence.lastArrival[p] != .min else {
                silence.lastArrival[p] = now.milliseconds  // watching starts at the first tick
                continue
            }
            let last = EventTime(milliseconds: silence.lastArrival[p])
            let bound = plants.staleAfterMilliseconds[p]
            guard now.milliseconds(since: last) > bound else { continue }
            let stopped = plants.slots[p].filter { health[$0].deadline != nil }.count  // watched, not yet stale
            guard stopped > 0 else { continue }  // each of its signals is already alarmed on its own
            silence.silent[p] = true
            var track = silence.tracks[p]
            guard track.transition(raised: true, activations: &silence.activations[p]) else { continue }
            silence.tracks[p] = track
            let limit = durationText(bound)
            notices.append(.event(gatewayEvent(
                plant: p, raised: true, count: stopped, at: last.adding(milliseconds: bound),
                detail: "网关静默：全厂 \(stopped) 个信号同时中断超过 \(limit)，单个信号的中断报警并入本报警 (gateway silent: \(stopped) signals stopped together for more than \(limit))"
            )))
        }
    }

    /// Whether the tick may judge slot `slot` of equipment `e` now: false while its plant is silent,
    /// and false (the slot held) when its stale deadline came while the plant showed no sign of life
    /// for half its bound — the whole gateway may be going silent.
    mutating func mayJudge(slot: Int, equipment e: Int, at now: EventTime) -> Bool {
        let p = plants.plantOfEquipment[e]
        guard health[slot].staleDue(at: now) else { return true }
        if silence.silent[p] { return false }
        let bound = plants.staleAfterMilliseconds[p]
        let last = silence.lastArrival[p]
        guard last != .min, now.milliseconds - last >= bound / 2 else { return true }
        if !silence.isHeld[slot] {
            silence.isHeld[slot] = true
            silence.held[p].append(slot)
        }
        return false
    }

    private func gatewayEvent(plant p: Int, raised: Bool, count: Int, at time: EventTime, detail: String) -> AlarmEvent {
        let track = silence.tracks[p]
        return AlarmEvent(
            kind: raised ? .raised : .cleared, state: raised ? .activeUnacked : .rtnUnacked,
            alarmClass: .device, rule: Self.gatewaySilentRule, priority: .high, plant: plants.ids[p], equipment: Self.gatewayEquipment,
            activation: track.activations, ordinal: track.ordinal, signals: [],
            value: raised ? Double(count) : nil, limit: nil, unit: raised ? "signals" : nil, basis: Self.deviceBasis,
            message: detail, eventTime: time, configHash: model.configHash
        )
    }
}
