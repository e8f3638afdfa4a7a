"""`python -m audit`."""

from audit.cli import main
from audit.lazy import exit_fast

exit_fast(main())
