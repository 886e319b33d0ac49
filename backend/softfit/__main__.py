from softfit.cli import main

raise SystemExit(main())
