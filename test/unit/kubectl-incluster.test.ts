// kubectl in a Pod: its in-cluster configuration must not be switched off by our flags.
import assert from "node:assert/strict";
import { test } from "node:test";
import { usesKubeconfig } from "../../src/adapters/kubectl.js";

const pod = { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443", HOME: "/tmp" };
const none = () => false;

test("in a Pod with no kubeconfig anywhere kubectl uses the ServiceAccount: no override flag may be added", () => {
  assert.equal(usesKubeconfig(pod, undefined, none), false);
  assert.equal(usesKubeconfig({ ...pod, HOME: undefined }, undefined, none), false);
});

test("a kubeconfig from the flag, $KUBECONFIG or ~/.kube/config wins over in-cluster, as in clientcmd", () => {
  assert.equal(usesKubeconfig(pod, "/etc/kube/config", none), true);
  assert.equal(usesKubeconfig({ ...pod, KUBECONFIG: "/k" }, undefined, none), true);
  assert.equal(
    usesKubeconfig(pod, undefined, (home) => home === "/tmp"),
    true,
  );
});

test("outside a Pod kubectl always reads a kubeconfig", () => {
  assert.equal(usesKubeconfig({ HOME: "/home/u" }, undefined, none), true);
  assert.equal(usesKubeconfig({ KUBERNETES_SERVICE_HOST: "10.0.0.1", HOME: "/home/u" }, undefined, none), true);
});
