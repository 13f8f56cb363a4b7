"""Model services mlmon did NOT instrument, for the end-to-end tests of its metric contract
(tests/e2e/test_e2e_instrumented.py). Each is a small FastAPI app in one of the shapes a team
writes by hand or gets from a library, run as `python tests/apps/<app>.py --host H --port P`."""
