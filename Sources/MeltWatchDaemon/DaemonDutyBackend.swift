import MeltWatchAlarms
import MeltWatchCore
import MeltWatchDuty
import MeltWatchHazardStore
import MeltWatchHazards

/// The duty server's view of the running daemon: the book and signals the engine thread published,
/// the configuration in force, the counters, and operators' actions through the inbox (journaled,
/// then applied on the engine thread).
struct DaemonDutyBackend: DutyBackend {
    let alarms: AlarmOutput
    let inbox: ActionInbox
    let reloader: ConfigReloader
    let counters: IngestCounters
    let daemonMetrics: DaemonMetrics
    let startedAt: EventTime
    let brokerURL: String
    let journalDirectory: String
    let outboxDirectory: String
    let hazards: HazardOutput

    var book: AlarmBook { alarms.book }
    var plantNames: [String: String] { reloader.live.plantNames }
    var events: EventLog { alarms.log }
    var signals: [DutySignal] { alarms.signalRows }
    var metrics: String { daemonMetrics.render() }

    func hasEquipment(plant: String, equipment: String) -> Bool {
        reloader.live.equipmentKeys.contains("\(plant):\(equipment)")
    }

    func hazards(status: Hazard.Status?) throws -> [Hazard] { try store().hazards(status: status) }
    func hazard(id: String) throws -> Hazard? { try store().hazard(id) }

    private func store() throws -> HazardStore {
        guard let store = hazards.store else { throw HazardStoreError(description: "the hazard database is not open (\(hazards.path))") }
        return store
    }

    func perform(_ action: AlarmAction) async -> Result<AlarmRecord?, AlarmActionError> {
        await inbox.perform(action)
    }

    var status: DutyStatus {
        let live = reloader.live
        return DutyStatus(version: MeltWatchVersion.string, configHash: live.hash, startedAt: startedAt,
                          plants: live.plants.map { DutyStatus.Plant(id: $0.id, name: $0.name) },
                          ready: counters.brokerConnected.load(ordering: .relaxed) && counters.journalWritable.load(ordering: .relaxed))
    }

    var readiness: Readiness {
        Readiness(checks: [
            ("broker", counters.brokerConnected.load(ordering: .relaxed), brokerURL),
            ("subscriptions", counters.subscribed.load(ordering: .relaxed)
                && counters.rejectedSubscriptions.load(ordering: .relaxed) == 0, "\(reloader.live.topicCount) topics"),
            ("engine", counters.engineRunning.load(ordering: .relaxed), "engine thread"),
            ("journal", counters.journalWritable.load(ordering: .relaxed), journalDirectory),
            ("outbox", counters.outboxWritable.load(ordering: .relaxed), outboxDirectory),
        ])
    }
}
