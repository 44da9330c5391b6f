// Managed clusters (EKS, GKE, AKS) authenticate kubectl through a credential
// plugin that reads the cloud's credentials from the environment. Through the
// built CLI and the bundled Action, with kubeconfigs whose user is such a
// plugin (a recording stand-in, test/support/exec-plugin.ts): the plugin gets
// what it needs, exactly as under plain kubectl, and no form of our secrets.
// Every test ends with the leak scan, which includes the plugins' records.
// On every backend: the plugin's bearer token must satisfy the stand-in or a
// real kube-apiserver (its static token file) for anything to be written.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pluginCalls, runWith, writeExecKubeconfig, writePlugin, type PluginCall } from "../support/exec-plugin.ts";
import { stopSharedControlPlane } from "../support/kube-real.ts";
import {
  kubeBackends,
  leaks,
  NAMESPACES,
  PAT,
  PROJECT,
  startWorld,
  type Captured,
  type World,
} from "../support/world.ts";

const EKS_ARGS = ["--region", "eu-west-1", "eks", "get-token", "--cluster-name", "prod", "--output", "json"];
const AKS_ARGS = ["get-token", "--login", "workloadidentity", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"];

function baseEnv(world: World): Record<string, string> {
  return { PATH: `${join(world.dir, "bin")}:${process.env.PATH ?? ""}`, HOME: world.home, LANG: "C.UTF-8" };
}

function rotateArgs(world: World, kubeconfig: string, secretName: string, extra: string[] = []): string[] {
  return [
    "rotate",
    "--gitlab-url",
    world.gitlab.url,
    "--project",
    PROJECT.path,
    "--kubeconfig",
    kubeconfig,
    "--namespace",
    NAMESPACES.join(","),
    "--secret-name",
    secretName,
    ...world.verifyFlags(),
    ...extra,
  ];
}

function assertNoLeaks(world: World, runs: Captured[]): void {
  assert.deepEqual(leaks(world, runs), [], "a secret form leaked");
}

/** Our secret variables, the Action's inputs and the renamed/misplaced token: none may reach a plugin. */
function assertClean(calls: PluginCall[]): void {
  assert.ok(calls.length > 0, "kubectl ran the plugin");
  for (const c of calls) {
    const names = Object.keys(c.env);
    for (const gone of ["GITLAB_TOKEN", "REGISTRY_PASSWORD", "GITLAB_PULL_SECRET_TOKEN", "DEPLOY_NOTES"]) {
      assert.ok(!names.includes(gone), `${gone} reached the plugin`);
    }
    assert.deepEqual(
      names.filter((n) => n.startsWith("INPUT_")),
      [],
      "no Action input reaches the plugin",
    );
    // kubectl never hands a plugin its stdin here: stdin carries the Secret manifests.
    assert.equal(c.stdin, "");
  }
}

function managedBy(world: World, secretName: string): string[] {
  return NAMESPACES.filter(
    (ns) =>
      world.kube.getObject("secrets", ns, secretName)?.metadata.labels?.["app.kubernetes.io/managed-by"] ===
      "gitlab-pull-secret",
  );
}

function liveTokens(world: World): number[] {
  return world.gitlab.tokens.filter((t) => world.gitlab.isLive(t.id)).map((t) => t.id);
}

after(stopSharedControlPlane);

for (const backend of kubeBackends()) {
  describe(`kubectl credential plugins (${backend})`, () => {
    let world: World;
    let cloud: { aws: Record<string, string>; google: Record<string, string>; azure: Record<string, string> };
    // Where a user might also have put the API token: the component's renamed variable, free text.
    let strays: Record<string, string>;
    const runs: Captured[] = [];

    before(async () => {
      world = await startWorld({ backend });
      const file = (name: string, text: string): string => {
        const path = join(world.dir, name);
        writeFileSync(path, text, { mode: 0o600 });
        return path;
      };
      // What aws-actions/configure-aws-credentials, google-github-actions/auth, azure/login or GitLab id_tokens leave behind.
      cloud = {
        aws: {
          AWS_ROLE_ARN: "arn:aws:iam::111122223333:role/gitlab-pull-secret",
          AWS_WEB_IDENTITY_TOKEN_FILE: file("aws-web-identity-token", "eyJhbGciOiJSUzI1NiJ9.aws-oidc.sig"),
          AWS_REGION: "eu-west-1",
        },
        google: {
          GOOGLE_APPLICATION_CREDENTIALS: file(
            "gcp-external-account.json",
            JSON.stringify({ type: "external_account", audience: "//iam.googleapis.com/x" }),
          ),
          CLOUDSDK_CORE_PROJECT: "shop-prod",
        },
        azure: {
          AZURE_CLIENT_ID: "00000000-0000-0000-0000-00000000c11e",
          AZURE_TENANT_ID: "00000000-0000-0000-0000-0000000074e4",
          AZURE_FEDERATED_TOKEN_FILE: file("azure-federated-token", "eyJhbGciOiJSUzI1NiJ9.azure-oidc.sig"),
          AZURE_AUTHORITY_HOST: "https://login.microsoftonline.com/",
        },
      };
      strays = { GITLAB_PULL_SECRET_TOKEN: PAT, DEPLOY_NOTES: `rotate with ${PAT} weekly` };
    });
    after(async () => {
      await world?.close();
    });

    test("EKS-style through the CLI: aws eks get-token gets the AWS variables, as under plain kubectl, and none of our secrets", async () => {
      const plugin = writePlugin(world, {
        name: "aws",
        requires: ["AWS_ROLE_ARN", "AWS_REGION"],
        requireFiles: ["AWS_WEB_IDENTITY_TOKEN_FILE"],
        args: EKS_ARGS,
      });
      const kubeconfig = writeExecKubeconfig(world, "eks", {
        command: plugin,
        args: EKS_ARGS,
        interactiveMode: "IfAvailable",
      });

      // The plugin is strict: plain kubectl fails without the AWS variables and works with them.
      const bare = await runWith("kubectl", ["--kubeconfig", kubeconfig, "get", "ns", "-o", "name"], baseEnv(world));
      assert.notEqual(bare.code, 0);
      assert.match(bare.stderr, /aws: AWS_ROLE_ARN is not set/);
      const plain = await runWith("kubectl", ["--kubeconfig", kubeconfig, "get", "ns", "-o", "name"], {
        ...baseEnv(world),
        ...cloud.aws,
      });
      assert.equal(plain.code, 0, plain.stderr);
      const before = pluginCalls(world, "aws").length;

      const r = await world.runCli(rotateArgs(world, kubeconfig, "eks-pull"), { env: { ...cloud.aws, ...strays } });
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Rotated Secret "eks-pull" in team-a, team-b, team-c/);
      assert.deepEqual(managedBy(world, "eks-pull"), NAMESPACES);
      const calls = pluginCalls(world, "aws").slice(before);
      assertClean(calls);
      for (const c of calls) {
        for (const [name, value] of Object.entries(cloud.aws)) assert.equal(c.env[name], value, name);
        assert.deepEqual(c.argv, EKS_ARGS);
      }
      assertNoLeaks(world, runs);
    });

    test("AKS-style with static credentials: kubelogin gets the Azure variables; the password and its forms stay out", async () => {
      const username = "robot-aks";
      const password = "s3cret-registry-Passw0rd";
      world.addCredentials(username, password);
      const plugin = writePlugin(world, {
        name: "kubelogin",
        requires: ["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_AUTHORITY_HOST"],
        requireFiles: ["AZURE_FEDERATED_TOKEN_FILE"],
        args: AKS_ARGS,
      });
      const kubeconfig = writeExecKubeconfig(world, "aks", {
        command: plugin,
        args: AKS_ARGS,
        interactiveMode: "IfAvailable",
      });
      const auth = Buffer.from(`${username}:${password}`).toString("base64");
      const r = await world.runCli(
        [
          "rotate",
          "--username",
          username,
          "--registry",
          "registry.example.com",
          "--kubeconfig",
          kubeconfig,
          "--namespace",
          NAMESPACES.join(","),
          "--secret-name",
          "aks-pull",
          "--no-verify",
        ],
        // A docker config the job also had around, holding the same password: it stays out too.
        {
          env: {
            ...cloud.azure,
            REGISTRY_PASSWORD: password,
            REGISTRY_AUTH: auth,
            DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { "registry.example.com": { auth } } }),
          },
        },
      );
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(managedBy(world, "aks-pull"), NAMESPACES);
      const calls = pluginCalls(world, "kubelogin");
      assertClean(calls);
      for (const c of calls) {
        for (const [name, value] of Object.entries(cloud.azure)) assert.equal(c.env[name], value, name);
        assert.equal(c.env.REGISTRY_AUTH, undefined);
        assert.equal(c.env.DOCKER_AUTH_CONFIG, undefined);
      }
      assertNoLeaks(world, runs);
    });

    test("the kubeconfig's own exec.env reaches the plugin beside the inherited variables, and wins over them", async () => {
      const plugin = writePlugin(world, {
        name: "aws-profile",
        requires: ["AWS_PROFILE", "AWS_STS_REGIONAL_ENDPOINTS", "AWS_REGION"],
      });
      const kubeconfig = writeExecKubeconfig(world, "exec-env", {
        command: plugin,
        env: [
          { name: "AWS_PROFILE", value: "prod-deployer" },
          { name: "AWS_STS_REGIONAL_ENDPOINTS", value: "regional" },
        ],
        interactiveMode: "IfAvailable",
      });
      const r = await world.runCli(rotateArgs(world, kubeconfig, "exec-env-pull"), {
        env: { AWS_REGION: "eu-west-1", AWS_PROFILE: "ci-default", ...strays },
      });
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(managedBy(world, "exec-env-pull"), NAMESPACES);
      const calls = pluginCalls(world, "aws-profile");
      assertClean(calls);
      for (const c of calls) {
        assert.equal(c.env.AWS_PROFILE, "prod-deployer", "the kubeconfig's entry wins");
        assert.equal(c.env.AWS_STS_REGIONAL_ENDPOINTS, "regional");
        assert.equal(c.env.AWS_REGION, "eu-west-1", "inherited from the job");
      }
      assertNoLeaks(world, runs);
    });

    test("interactiveMode: Never: the plugin is told it is not interactive and never sees kubectl's stdin", async () => {
      const plugin = writePlugin(world, {
        name: "never",
        requires: ["AWS_ROLE_ARN"],
        requireFiles: ["AWS_WEB_IDENTITY_TOKEN_FILE"],
      });
      const kubeconfig = writeExecKubeconfig(world, "never", { command: plugin, interactiveMode: "Never" });
      const r = await world.runCli(rotateArgs(world, kubeconfig, "never-pull"), { env: { ...cloud.aws, ...strays } });
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(managedBy(world, "never-pull"), NAMESPACES);
      const calls = pluginCalls(world, "never");
      assertClean(calls);
      for (const c of calls) {
        const info = JSON.parse(c.env.KUBERNETES_EXEC_INFO!);
        assert.deepEqual(
          [info.apiVersion, info.kind, info.spec.interactive],
          ["client.authentication.k8s.io/v1", "ExecCredential", false],
        );
      }
      assertNoLeaks(world, runs);
    });

    test("a plugin that fails: its own message reaches the user, nothing is minted or written", async () => {
      const message =
        "An error occurred (ExpiredTokenException) when calling the AssumeRoleWithWebIdentity operation: Token expired: current date/time 1764475200 must be before the expiration date/time 1764471600";
      const plugin = writePlugin(world, { name: "aws-expired", requires: [], failWith: message });
      const kubeconfig = writeExecKubeconfig(world, "expired", {
        command: plugin,
        args: EKS_ARGS,
        interactiveMode: "Never",
      });
      const live = liveTokens(world);
      const r = await world.runCli(rotateArgs(world, kubeconfig, "expired-pull"), { env: { ...cloud.aws, ...strays } });
      runs.push(r);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /(reading|taking) the rotation lock failed/);
      assert.ok(r.stderr.includes(`credential plugin: ${message}`), r.stderr);
      assert.match(r.stderr, /credential plugin \(exec\) failed/);
      assert.deepEqual(liveTokens(world), live, "nothing minted");
      assert.deepEqual(managedBy(world, "expired-pull"), []);
      assertClean(pluginCalls(world, "aws-expired"));
      assertNoLeaks(world, runs);
    });

    test("a plugin whose token the API server refuses: kubectl's 401 reaches the user, nothing is minted or written", async () => {
      // A plugin that hands out a cached token its cloud has since revoked: the plugin succeeds, the server says 401.
      const plugin = writePlugin(world, {
        name: "aws-stale",
        requires: ["AWS_ROLE_ARN"],
        token: "k8s-aws-v1.c3RhbGUtY2FjaGVkLXRva2Vu",
      });
      const kubeconfig = writeExecKubeconfig(world, "stale", {
        command: plugin,
        args: EKS_ARGS,
        interactiveMode: "Never",
      });
      const live = liveTokens(world);
      const r = await world.runCli(rotateArgs(world, kubeconfig, "stale-pull"), { env: { ...cloud.aws, ...strays } });
      runs.push(r);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /(reading|taking) the rotation lock failed/);
      // kubectl words it after the first request refused: the Status message of a GET ("Unauthorized"), or
      // client-go's text for a 401 when discovery goes first (no cached discovery for this server in HOME yet).
      assert.match(
        r.stderr,
        /You must be logged in to the server \((Unauthorized|the server has asked for the client to provide credentials)\)/,
      );
      assert.match(r.stderr, /kubectl's credentials were refused/);
      assert.deepEqual(liveTokens(world), live, "nothing minted");
      assert.deepEqual(managedBy(world, "stale-pull"), []);
      // The server refused what the plugin returned; client-go's exec authenticator asks the plugin again after a 401.
      const calls = pluginCalls(world, "aws-stale");
      assert.ok(calls.length >= 2, `the plugin ran again after the 401 (${calls.length} calls)`);
      assertClean(calls);
      assertNoLeaks(world, runs);
    });

    describe("through the Action", () => {
      const inputs = (kubeconfig: string, secretName: string): Record<string, string> => ({
        "gitlab-url": world.gitlab.url,
        "gitlab-token": PAT,
        project: String(PROJECT.id),
        namespaces: NAMESPACES.join("\n"),
        "secret-name": secretName,
        kubeconfig,
        ...(world.verifyInputs("action") as Record<string, string>),
      });

      test("GKE-style: gke-gcloud-auth-plugin gets the Google variables and the cluster; no input and no token reach it", async () => {
        const plugin = writePlugin(world, {
          name: "gke-gcloud-auth-plugin",
          requires: ["CLOUDSDK_CORE_PROJECT"],
          requireFiles: ["GOOGLE_APPLICATION_CREDENTIALS"],
        });
        const kubeconfig = writeExecKubeconfig(world, "gke", {
          command: plugin,
          interactiveMode: "IfAvailable",
          provideClusterInfo: true,
        });
        const r = await world.runAction(inputs(kubeconfig, "gke-pull"), { env: { ...cloud.google, ...strays } });
        runs.push(r);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.files.GITHUB_OUTPUT!, /changed<<\S+\ntrue\n/);
        assert.deepEqual(managedBy(world, "gke-pull"), NAMESPACES);
        const calls = pluginCalls(world, "gke-gcloud-auth-plugin");
        assertClean(calls);
        for (const c of calls) {
          for (const [name, value] of Object.entries(cloud.google)) assert.equal(c.env[name], value, name);
          assert.equal(JSON.parse(c.env.KUBERNETES_EXEC_INFO!).spec.cluster.server, world.kube.url);
        }
        assertNoLeaks(world, runs);
      });

      test("EKS-style: the same AWS plugin works through the Action", async () => {
        const plugin = writePlugin(world, {
          name: "aws-action",
          requires: ["AWS_ROLE_ARN", "AWS_REGION"],
          requireFiles: ["AWS_WEB_IDENTITY_TOKEN_FILE"],
          args: EKS_ARGS,
        });
        const kubeconfig = writeExecKubeconfig(world, "eks-action", {
          command: plugin,
          args: EKS_ARGS,
          interactiveMode: "Never",
        });
        const r = await world.runAction(inputs(kubeconfig, "eks-action-pull"), { env: { ...cloud.aws, ...strays } });
        runs.push(r);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.deepEqual(managedBy(world, "eks-action-pull"), NAMESPACES);
        const calls = pluginCalls(world, "aws-action");
        assertClean(calls);
        for (const c of calls)
          for (const [name, value] of Object.entries(cloud.aws)) assert.equal(c.env[name], value, name);
        assertNoLeaks(world, runs);
      });

      test("a plugin that fails: the step fails with the plugin's message", async () => {
        const message =
          "kubelogin: failed to get token: AADSTS700024: Client assertion is not within its valid time range.";
        const plugin = writePlugin(world, { name: "kubelogin-expired", requires: [], failWith: message });
        const kubeconfig = writeExecKubeconfig(world, "aks-expired", {
          command: plugin,
          args: AKS_ARGS,
          interactiveMode: "Never",
        });
        const live = liveTokens(world);
        const r = await world.runAction(inputs(kubeconfig, "aks-expired-pull"), { env: { ...cloud.azure, ...strays } });
        runs.push(r);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        const failed = r.stdout.split("\n").find((l) => l.startsWith("::error::")) ?? "";
        assert.ok(failed.includes(`credential plugin: ${message}`), r.stdout);
        assert.deepEqual(liveTokens(world), live, "nothing minted");
        assert.deepEqual(managedBy(world, "aks-expired-pull"), []);
        assertClean(pluginCalls(world, "kubelogin-expired"));
        assertNoLeaks(world, runs);
      });
    });
  });
}
