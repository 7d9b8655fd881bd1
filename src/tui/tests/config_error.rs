//! The config-error screen.

use super::*;

mod config_screen {
    use super::*;
    use crate::tui::screen::config_error::{ConfigScreen, Next, Opened, StartError};

    fn opener(path: std::path::PathBuf) -> impl FnMut() -> Result<Opened, StartError> {
        move || {
            let cfg = config::load(&path).map_err(|e| StartError::from(&e))?;
            let service = Service::open(cfg)?;
            Ok(Opened {
                desk: std::sync::Arc::new(service.clone()),
                created: None,
                remotes: Vec::new(),
                switch: Box::new(move |_| Ok(std::sync::Arc::new(service.clone()))),
            })
        }
    }

    fn press(c: char) -> TermEvent {
        TermEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    fn draw(s: &ConfigScreen, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| ui::draw_config_error(f, s)).unwrap();
        t.backend().to_string()
    }

    #[test]
    fn shows_file_line_key_and_reloads_on_r_until_it_works() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let broken = format!(
            "[store]\npath = \"store\"\n[defaults]\nvalidity_days = \"a year\"\n[[site]]\nid = {SITE}\nname = \"example.com\"\n"
        );
        std::fs::write(&path, &broken).unwrap();
        let mut open = opener(path.clone());
        let Err(e) = open() else {
            panic!("the broken config loaded")
        };
        let mut s = ConfigScreen::new(e, Theme::plain());
        assert_eq!(s.error.code, ErrorCode::InvalidConfig);
        assert_eq!(s.error.file.as_deref(), Some(path.as_path()));
        assert_eq!(s.error.line, Some(4));
        assert_eq!(s.error.key.as_deref(), Some("defaults.validity_days"));
        assert_eq!(s.source_line.as_deref(), Some("validity_days = \"a year\""));
        let screen = draw(&s, 80, 24);
        assert!(screen.contains("press r to reload"), "{screen}");
        insta::with_settings!({
            filters => vec![(r"File +\S*config\.toml *", "File     [CONFIG] ")],
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!("config_error_80x24", screen);
        });
        // r while still broken: said so, nothing lost.
        assert_eq!(s.handle_event(&press('r')), Next::Reload);
        assert!(s.reload(&mut open).is_none());
        assert_eq!(s.failed_reloads, 1);
        assert!(draw(&s, 80, 24).contains("still not usable (1 reload)"));
        // q and Ctrl-C quit; other keys do nothing.
        assert_eq!(s.handle_event(&press('q')), Next::Quit);
        assert_eq!(s.handle_event(&press('x')), Next::Stay);
        let ctrl_c = TermEvent::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(s.handle_event(&ctrl_c), Next::Quit);
        // Fixed: r gives the service, and the app starts on it.
        std::fs::write(&path, broken.replace("\"a year\"", "365")).unwrap();
        let opened = s.reload(&mut open).expect("the fixed config loads");
        let mut app = App::new(opened.desk, Theme::plain());
        app.start(None);
        assert!(matches!(app.screen, Screen::Main));
        // Too small a window still says what is wrong.
        assert!(draw(&s, 30, 5).contains("Config error"));
    }

    #[test]
    fn a_store_that_cannot_be_opened_is_shown_too() {
        let e = StartError::from(crate::error::EsaError::internal(
            "store: create directory /nope: permission denied",
        ));
        let s = ConfigScreen::new(e, Theme::plain());
        let screen = draw(&s, 80, 24);
        assert!(screen.contains("store cannot be opened"), "{screen}");
        assert!(screen.contains("InternalException"), "{screen}");
    }
}
