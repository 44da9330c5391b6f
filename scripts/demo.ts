// `npm run demo`: a full rotation, twice, against the local stand-ins (the
// GitLab stand-in, the Kubernetes API stand-in driven by the real kubectl,
// and, when docker-registry and skopeo are installed, a real registry pulled
// from with the Secret). Prints what happened at each step.
import { leaks, NAMESPACES, PROJECT, startWorld } from "../test/support/world.ts";

const say = (s: string) => process.stdout.write(`${s}\n`);

const world = await startWorld();
try {
  say(`GitLab stand-in:     ${world.gitlab.url} (project ${PROJECT.path})`);
  say(`Kubernetes stand-in: ${world.kube.url} (namespaces ${NAMESPACES.join(", ")}), real kubectl`);
  say(
    world.registry
      ? `Registry:            https://${world.registry.host} (docker-registry), image ${PROJECT.path}:latest`
      : "Registry:            not started (apt-get install docker-registry skopeo to also prove a pull)",
  );

  const args = [
    "rotate",
    "--gitlab-url",
    world.gitlab.url,
    "--project",
    PROJECT.path,
    "--kubeconfig",
    world.kubeconfig,
    "--namespace",
    NAMESPACES.join(","),
    "--expires-in",
    "7d",
    ...world.verifyFlags(),
    "--json",
  ];
  const runs = [];
  for (const round of [1, 2]) {
    say(
      `\n== rotation ${round}: gitlab-pull-secret ${args.join(" ").replace(world.gitlab.url, "$GITLAB_URL").replace(world.kubeconfig, "$KUBECONFIG")}`,
    );
    const r = await world.runCli(args);
    runs.push(r);
    say(r.stderr.trimEnd().replace(/^/gm, "   | "));
    if (r.code !== 0) throw new Error(`rotation ${round} exited ${r.code}`);
    say(`   stdout: ${r.stdout.trim()}`);
    if (world.registry) {
      const pulled = await world.pull(world.authfileFromSecret("team-a", "gitlab-pull-secret"));
      say(`   skopeo inspect with the Secret's docker config: ${pulled.ok ? "pulled" : `FAILED ${pulled.stderr}`}`);
      if (!pulled.ok) throw new Error("pull failed");
    }
  }
  const statusArgs = [
    "status",
    "--gitlab-url",
    world.gitlab.url,
    "--project",
    PROJECT.path,
    "--kubeconfig",
    world.kubeconfig,
    "--namespace",
    NAMESPACES.join(","),
  ];
  say(`\n== gitlab-pull-secret status (what a monitoring job sees)`);
  const status = await world.runCli(statusArgs);
  runs.push(status);
  say(status.stdout.trimEnd().replace(/^/gm, "   | "));
  const live = world.gitlab.tokens.filter((t) => world.gitlab.isLive(t.id));
  say(
    `\nGitLab now holds ${live.length} live deploy token (id ${live.map((t) => t.id).join(", ")}); minted in all: ${world.gitlab.tokens.length}.`,
  );
  say(
    `kubectl processes spawned: ${world.kubectlCalls().length} for ${NAMESPACES.length} namespaces, 2 rotations and 1 status.`,
  );
  const hits = leaks(world, runs);
  say(`Secret forms found in output, kubectl argv/env and files: ${hits.length}`);
  if (hits.length) throw new Error(hits.join("\n"));
} finally {
  await world.close();
}
