//! Start-up, quitting, re-reading, help and notes.

use super::*;

#[test]
fn starts_with_a_load_and_lists_what_the_store_holds() {
    let h0 = Harness::new();
    assert!(h0.app.load.loaded && h0.app.table.is_empty());
    let mut h = h0;
    h.issue("a.example", "", 30);
    h.issue("b.example", "lbl", 30);
    h.step(Action::FocusGained);
    let mut labels = h.labels();
    labels.sort();
    assert_eq!(labels, ["a.example", "b.example"]);
}

#[test]
fn the_first_load_reads_site_by_site_the_selected_one_first() {
    let h = Harness::new();
    h.issue("first.example", "", 30);
    h.service
        .create(&CreateRequest {
            site_id: Some("42".into()),
            validity_days: Some("30".into()),
            pkey_type: Some("ED25519".into()),
            common_name: Some("later.example".into()),
            ..Default::default()
        })
        .unwrap();
    let mut app = App::new(std::sync::Arc::new(h.service.clone()), Theme::plain());
    app.start(None);
    let next_load = |app: &mut App| {
        let mut jobs = app.take_effects();
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        match jobs.pop() {
            Some(Effect::Job(job @ crate::tui::worker::Job::Load { .. })) => job,
            other => panic!("not a load: {other:?}"),
        }
    };
    let job = next_load(&mut app);
    assert!(matches!(
        &job,
        crate::tui::worker::Job::Load { sites: Some(s), stamp: true } if s == &[SITE]
    ));
    app.done(worker::run(app.desk(), job, &|_| {}));
    assert_eq!(app.load.unread.to_vec(), [42]);
    assert_eq!(app.table.len(), 1);
    let screen = render(&app, 100, 24).backend().to_string();
    assert!(screen.contains("first.example"), "{screen}");
    assert!(screen.contains("reading the other sites"), "{screen}");
    assert!(
        screen.contains("reading…") && screen.contains("       …│"),
        "{screen}"
    );
    // Switching to a site not read yet says so instead of "no certificates".
    app.step(Action::Cmd(crate::tui::action::Cmd::FocusNext));
    app.step(Action::Cmd(crate::tui::action::Cmd::Down));
    assert_eq!(app.selected_site().unwrap().site_id, 42);
    assert!(
        render(&app, 100, 24)
            .backend()
            .to_string()
            .contains("Reading the store…")
    );
    // The next site was queued at once; then every site is known.
    let job = next_load(&mut app);
    assert!(matches!(
        &job,
        crate::tui::worker::Job::Load { sites: Some(s), stamp: false } if s == &[42]
    ));
    app.done(worker::run(app.desk(), job, &|_| {}));
    assert!(app.load.unread.is_empty());
    assert_eq!(app.table.rows().len(), 2);
    assert_eq!(
        app.table.selected_row().unwrap().common_name,
        "later.example"
    );
    assert!(app.take_effects().is_empty());
    let screen = render(&app, 100, 24).backend().to_string();
    assert!(screen.contains("2 certificates · 2 sites"), "{screen}");
    // Later reloads read everything at once.
    app.reload();
    let job = next_load(&mut app);
    assert!(matches!(
        job,
        crate::tui::worker::Job::Load {
            sites: None,
            stamp: true
        }
    ));
}

/// Issue #13 item 13: the first load of many sites reads each site once
/// and hands back each site's summary once (every site's read summarised
/// every site: quadratic in the number of sites), the selected site first
/// and alone; the table and the counts end complete.
#[test]
fn the_first_load_of_many_sites_reads_and_summarises_each_site_once() {
    const N: u64 = 3_000;
    let mut text = String::from("[store]\npath = \"store\"\n[ca]\nkey_type = \"ED25519\"\n");
    for id in 1..=N {
        text.push_str(&format!("[[site]]\nid = {id}\nname = \"s{id}.example\"\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = config::parse(&text, &dir.path().join("config.toml")).unwrap();
    let service = Service::open(cfg).unwrap();
    for site in [1, N / 2, N] {
        service
            .create(&CreateRequest {
                site_id: Some(site.to_string()),
                validity_days: Some("30".into()),
                pkey_type: Some("ED25519".into()),
                common_name: Some(format!("c{site}.example")),
                ..Default::default()
            })
            .unwrap();
    }
    let mut app = App::new(std::sync::Arc::new(service), Theme::plain());
    app.start(None);
    let (mut batches, mut summaries) = (Vec::new(), 0);
    loop {
        let effects = app.take_effects();
        if effects.is_empty() {
            break;
        }
        for e in effects {
            let Effect::Job(job) = e else { continue };
            let done = worker::run(app.desk(), job, &|_| {});
            let Done::Loaded(Ok(snap)) = &done else {
                panic!("not a load: {done:?}");
            };
            batches.push(snap.batch.clone().expect("a batch of the first load"));
            summaries += snap.sites.len();
            app.done(done);
        }
    }
    assert!(app.load.unread.is_empty());
    assert_eq!(batches[0], [1]);
    let mut read: Vec<u64> = batches.concat();
    read.sort_unstable();
    assert_eq!(read, (1..=N).collect::<Vec<_>>(), "each site read once");
    assert_eq!(summaries, N as usize, "each site summarised once");
    assert_eq!(app.table.rows().len(), 3);
    let middle = app.site_pos(N / 2).unwrap();
    assert_eq!(app.sites[middle].active, 1);
    assert!(app.site_read(N / 2));
}

#[test]
fn a_change_by_another_process_shows_up_on_the_next_tick() {
    let mut h = Harness::new();
    h.step(Action::Tick);
    assert!(h.app.table.is_empty());
    h.issue("cli.example", "", 30);
    h.step(Action::Tick);
    assert_eq!(h.labels(), ["cli.example"]);
    // No change: the tick asks the worker for the stamp (never the UI
    // thread: 0.2 s at 30,000 sites), and its answer asks for no reload.
    h.app.step(Action::Tick);
    let effects = h.app.take_effects();
    assert!(
        matches!(effects.as_slice(), [Effect::Job(worker::Job::Poll)]),
        "{effects:?}"
    );
    let stamp = h.app.desk().change_stamp();
    h.app.done(Done::Polled(stamp));
    assert!(h.app.take_effects().is_empty());
    // One poll at a time: a tick while it runs asks for nothing.
    h.app.step(Action::Tick);
    assert_eq!(h.app.take_effects().len(), 1);
    h.app.step(Action::Tick);
    assert!(h.app.take_effects().is_empty(), "a second poll in flight");
}

#[test]
fn quit_keys() {
    let mut h = Harness::new();
    h.ch('n');
    h.ch('q'); // not a quit from the form (nor typed: ValidityDays takes digits)
    assert!(!h.app.should_quit());
    assert_eq!(h.form().days.value(), "365");
    h.ctrl('c');
    assert!(h.app.should_quit());
    let mut h = Harness::new();
    h.ch('q');
    assert!(h.app.should_quit());
}

#[test]
fn ctrl_r_says_when_the_re_read_is_done() {
    let mut h = Harness::new();
    h.issue("one.example", "", 30);
    h.issue("two.example", "", 30);
    // The runtime runs the load later: meanwhile the note says so.
    h.app.step(Action::Cmd(crate::tui::action::Cmd::Reload));
    assert_eq!(h.note(), "Re-reading the store…");
    h.run();
    assert_eq!(h.note(), "Re-read the store: 2 certificates");
    assert_eq!(h.labels().len(), 2);
    h.key(KeyCode::F(5));
    assert_eq!(h.note(), "Re-read the store: 2 certificates");
    // Another process adds one; the automatic re-read (a tick sees the
    // store change) must not leave the old count on screen.
    h.issue("three.example", "", 30);
    h.step(Action::Tick);
    assert_eq!(h.labels().len(), 3);
    assert_eq!(h.note(), "Re-read the store: 3 certificates");
}

#[test]
fn help_opens_at_the_section_for_where_you_are() {
    // The first line inside the help popup.
    let first = |h: &Harness| {
        let screen = h.draw(100, 30);
        let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
        let top = lines.iter().position(|l| {
            let s: String = l.iter().collect();
            s.contains("┌ Keys")
        });
        let top = top.expect("no help popup");
        let mark: Vec<char> = "┌ Keys".chars().collect();
        let x = lines[top]
            .windows(mark.len())
            .position(|w| w == mark)
            .unwrap();
        let row: String = lines[top + 1][x + 1..].iter().collect();
        row.split('│').next().unwrap_or_default().trim().to_owned()
    };
    let mut h = Harness::new();
    h.ch('?');
    assert_eq!(first(&h), "Certificates");
    h.key(KeyCode::Esc);
    h.ch('n');
    h.key(KeyCode::F(1));
    assert_eq!(first(&h), "Issue form");
    // Scrolling from there works as usual.
    h.ch('k');
    assert_ne!(first(&h), "Issue form");
    h.key(KeyCode::Esc);
    h.key(KeyCode::Tab); // a choice: '?' is a key here, not typed
    h.ch('?');
    assert_eq!(first(&h), "Issue form");
}

#[test]
fn popups_show_the_same_keys_as_the_bar() {
    let mut h = Harness::new();
    fixture(&mut h);
    let agree = |h: &Harness| {
        let screen = h.draw(80, 24);
        let bar = screen
            .lines()
            .last()
            .unwrap()
            .trim_matches('"')
            .trim()
            .to_owned();
        assert!(!bar.is_empty());
        assert!(
            screen
                .lines()
                .rev()
                .skip(1)
                .any(|l| l.contains(&format!("│{bar} "))),
            "the popup's keys differ from the bar {bar:?}:\n{screen}"
        );
    };
    h.ch('r');
    agree(&h);
    assert!(h.draw(80, 24).contains("│y yes  n no  ←/→ reason"));
    h.ch('n');
    h.ch('R');
    agree(&h);
}

#[test]
fn a_note_does_not_follow_you_to_another_screen() {
    let mut h = Harness::new();
    let c = h.issue("gone.example", "", 30);
    h.step(Action::FocusGained);
    // An error note: the certificate went away behind the table's back.
    h.service.revoke(&c.id, None).unwrap();
    h.service.delete(&c.id).unwrap();
    h.ch('c');
    assert_eq!(h.app.note.as_ref().unwrap().kind, NoteKind::Error);
    h.key(KeyCode::Enter); // closes the message: same screen, note kept
    assert!(h.app.note.is_some());
    h.ch('n');
    assert!(h.app.note.is_none(), "{:?}", h.app.note);
    // A screen change that says something keeps what it said.
    h.key(KeyCode::Esc);
    assert!(h.note().contains("nothing was issued"));
}

#[test]
fn esc_then_a_key_at_once_is_not_lost_as_alt() {
    let mut h = Harness::new();
    h.ch('?');
    h.key_mod(KeyCode::Char('n'), KeyModifiers::ALT);
    assert!(h.app.popup.is_none());
    assert!(matches!(h.app.screen, Screen::Form(_)));
}

/// #12: `B` offers the local store and each `[[remote]]`; choosing one asks
/// the runtime to switch (it opens the backend and restarts the screens).
#[test]
fn b_chooses_the_desk_among_the_local_store_and_the_remotes() {
    let mut h = Harness::new();
    h.ch('B');
    assert!(h.app.popup.is_none());
    assert!(
        h.note().contains("No [[remote]] in the config"),
        "{}",
        h.note()
    );

    h.app.remotes = vec!["team".into(), "cloud".into()];
    h.ch('B');
    let screen = h.draw(80, 24);
    assert!(screen.contains("› local store  (now)"), "{screen}");
    assert!(screen.contains("remote team"), "{screen}");
    assert!(screen.contains("remote cloud"), "{screen}");
    // Enter on the current desk changes nothing.
    h.key(KeyCode::Enter);
    assert!(h.switches.is_empty());
    h.ch('B');
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    h.key(KeyCode::Enter);
    assert!(h.app.popup.is_none());
    assert_eq!(h.switches, vec![Some("cloud".to_owned())]);
    assert!(
        h.note().contains("Opening the remote cloud"),
        "{}",
        h.note()
    );
    // Esc stays.
    h.ch('B');
    h.key(KeyCode::Esc);
    assert!(h.app.popup.is_none());
    assert_eq!(h.switches.len(), 1);
}
