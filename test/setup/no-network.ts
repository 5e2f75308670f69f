import nock from "nock";

// No test may reach beyond this machine: every sandbox listens on 127.0.0.1.
nock.disableNetConnect();
nock.enableNetConnect(/^(127\.0\.0\.1|localhost)(:\d+)?$/);

// jsforce routes every request through HTTP(S)_PROXY when set, even loopback ones.
for (const k of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]) delete process.env[k];
