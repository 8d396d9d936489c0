from devops_studio.cli import main

raise SystemExit(main())
