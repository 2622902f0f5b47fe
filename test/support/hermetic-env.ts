// Runs before every test file: the tests behave the same on a laptop and under CI. The runner's
// own CI variables would otherwise reach Ink, which reads them once at import (is-in-ci) and then
// draws nothing until unmount, and reach the CLI's choice of output mode. Tests that are about CI
// mode set these variables themselves, on the child process they run.
for (const key of ["CI", "CONTINUOUS_INTEGRATION", "GITHUB_ACTIONS"]) delete process.env[key];
