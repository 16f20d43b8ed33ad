"""Reading one commit of an upstream repository from a bare git clone (no work tree), shared by
the scripts that extract upstream facts into tests/data/."""

import argparse
import subprocess


class GitSource:
    """Files of `commit` in the git directory `git_dir`; modules are looked up under `roots`."""

    def __init__(self, git_dir, commit, roots=("",)):
        self.git_dir, self.commit, self.roots = git_dir, commit, roots

    def text(self, path):
        r = subprocess.run(["git", "--git-dir", self.git_dir, "show", f"{self.commit}:{path}"],
                           capture_output=True, text=True)
        return r.stdout if r.returncode == 0 else None

    def ls(self, folder):
        r = subprocess.run(["git", "--git-dir", self.git_dir, "ls-tree", "--name-only",
                            f"{self.commit}:{folder}"], capture_output=True, text=True, check=True)
        return [f"{folder}/{n}" for n in r.stdout.split()]

    def ls_tree(self, folder):
        """Every file under folder, at any depth."""
        r = subprocess.run(["git", "--git-dir", self.git_dir, "ls-tree", "-r", "--name-only",
                            self.commit, folder + "/"], capture_output=True, text=True, check=True)
        return r.stdout.split()

    def module_path(self, module):
        base = module.replace(".", "/")
        for root in self.roots:
            prefix = f"{root}/" if root else ""
            for p in (f"{prefix}{base}.py", f"{prefix}{base}/__init__.py"):
                if self.text(p) is not None:
                    return p
        return None


def source_args(doc, repo_name, commit):
    """--git-dir (a bare clone of `repo_name`) and --commit (default `commit`)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--git-dir", required=True, help=f"bare clone of {repo_name}")
    ap.add_argument("--commit", default=commit)
    return ap.parse_args()
