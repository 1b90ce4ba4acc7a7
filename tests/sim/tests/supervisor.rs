//! A town supervisor's device agrees with the server: it counts its town as the server does (the
//! town's own records and every village's below it), so once it has the town a second sync pulls
//! nothing, nothing from the start, and finds the checksums equal without a repair.

use shequ_model::client::{sync_once, Limits, Replica, SyncReport, Transport};
use shequ_model::UnitCode;
use shequ_sim::replica::MemReplica;
use shequ_sim::rng::Rng;
use shequ_sim::server::{server_bin, ServerProcess};
use shequ_sim::sim::change;
use shequ_sim::transport::{Faults, FaultyHttp};

const TOWN: &str = "610324001";
/// Two villages of the town, and one of another town that the supervisor must not count.
const VILLAGES: [&str; 3] = ["610324001001", "610324001004", "610324103001"];
const CHANGES: usize = 4;

#[test]
fn a_town_supervisors_second_sync_pulls_nothing_and_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        server_bin(),
        format!("sqlite://{}", dir.path().join("town.db").display()),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let limits = Limits::default();
        let mut rng = Rng::new(20180701);
        let mut in_town = 0;
        for (i, village) in VILLAGES.iter().enumerate() {
            let device = MemReplica::new(format!("村设备{i}"), village.to_string());
            let http = FaultyHttp::new(server.base(), i as u64, Faults::NONE);
            http.login(&format!("village-{village}"), &device.device)
                .await
                .unwrap();
            for n in 0..CHANGES {
                change(&device, &mut rng, n);
            }
            let report = sync_once(&device, &http, village, &limits, &|_| {})
                .await
                .unwrap();
            assert_eq!(
                (report.pushed, report.consistent),
                (CHANGES, Some(true)),
                "{village}: {report:?}"
            );
            if UnitCode::parse(TOWN).unwrap().contains(village) {
                in_town += CHANGES;
            }
        }

        let supervisor = MemReplica::new("督导设备".into(), TOWN.into());
        let http = FaultyHttp::new(server.base(), 99, Faults::NONE);
        http.login(&format!("town-{TOWN}"), &supervisor.device)
            .await
            .unwrap();
        let first = sync_once(&supervisor, &http, TOWN, &limits, &|_| {})
            .await
            .unwrap();
        assert_eq!(
            first,
            SyncReport {
                pulled: in_town,
                consistent: Some(true),
                ..SyncReport::default()
            },
            "the first sync pulls the town's villages and agrees at once"
        );
        let from_start = http.counts.get().pulls_from_start;
        let second = sync_once(&supervisor, &http, TOWN, &limits, &|_| {})
            .await
            .unwrap();
        assert_eq!(
            second,
            SyncReport {
                consistent: Some(true),
                ..SyncReport::default()
            },
            "the second sync pulls nothing and agrees without a repair"
        );
        assert_eq!(
            http.counts.get().pulls_from_start,
            from_start,
            "the second sync does not pull the town again from the start"
        );
        assert_eq!(
            supervisor.checksum(TOWN).await.unwrap(),
            http.checksum(TOWN).await.unwrap()
        );
    });
}

/// A phone shared by a village worker and the town supervisor: the worker's unsynced work stays on
/// it, out of the supervisor's pushes (the server would refuse the whole batch), and leaves with
/// the worker's own next sync.
#[test]
fn on_a_shared_phone_the_supervisors_sync_leaves_the_workers_unsynced_work_for_the_worker() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        server_bin(),
        format!("sqlite://{}", dir.path().join("shared.db").display()),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let limits = Limits::default();
        let village = VILLAGES[0];
        let phone = MemReplica::new("共用手机".into(), village.to_string());
        change(&phone, &mut Rng::new(7), 0);

        let supervisor = FaultyHttp::new(server.base(), 1, Faults::NONE);
        supervisor
            .login(&format!("town-{TOWN}"), &phone.device)
            .await
            .unwrap();
        let report = sync_once(&phone, &supervisor, TOWN, &limits, &|_| {}).await;
        let report = report.expect("the supervisor's sync is not refused for the worker's work");
        assert_eq!((report.pushed, report.refused), (0, 0), "{report:?}");
        assert_eq!(
            phone.pending_count(TOWN).await.unwrap(),
            0,
            "the supervisor has nothing of their own waiting"
        );
        assert_eq!(
            phone.pending_count(village).await.unwrap(),
            1,
            "the worker's change still waits"
        );

        let worker = FaultyHttp::new(server.base(), 2, Faults::NONE);
        worker
            .login(&format!("village-{village}"), &phone.device)
            .await
            .unwrap();
        let report = sync_once(&phone, &worker, village, &limits, &|_| {})
            .await
            .unwrap();
        assert_eq!(report.pushed, 1, "{report:?}");
        assert_eq!(phone.pending_count(village).await.unwrap(), 0);
    });
}
