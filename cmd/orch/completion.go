package main

import (
	"fmt"
	"io"
)

const completionHelp = `Usage: orch completion bash|zsh

Prints a shell completion script for orch's commands and flags.

Examples:
  source <(orch completion bash)          # in ~/.bashrc
  orch completion zsh > "${fpath[1]}/_orch"
`

// bashCompletion completes commands, subcommands and flags; it is static, so that it
// works without a server or credentials.
const bashCompletion = `# bash completion for orch
_orch() {
  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]} sub=${COMP_WORDS[2]} words=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    words="serve migrate robot keys version login logout token api jobs queues packages completion help"
  elif [ "$COMP_CWORD" -eq 2 ]; then
    case "$cmd" in
      jobs) words="start list logs stop" ;;
      queues) words="add list items" ;;
      packages) words="publish" ;;
      keys) words="rotate" ;;
      completion) words="bash zsh" ;;
    esac
  fi
  if [ -z "$words" ] || [[ "$cur" == -* ]]; then
    case "$cmd $sub" in
      "jobs start") words="--input --folder --wait --output --profile --help" ;;
      "jobs list") words="--folder --state --top --output --profile --help" ;;
      "jobs logs") words="--follow --folder --output --profile --help" ;;
      "jobs stop") words="--kill --folder --profile --help" ;;
      "queues add") words="--content --reference --priority --folder --output --profile --help" ;;
      "queues list") words="--folder --output --profile --help" ;;
      "queues items") words="--status --top --folder --output --profile --help" ;;
      "packages publish") words="--folder --id --version --output --profile --help"; [[ "$cur" != -* ]] && { COMPREPLY=($(compgen -f -- "$cur")); return; } ;;
      "api "*) words="--data --field --folder --profile --help" ;;
      "robot "*) words="--url --org --tenant --client-id --client-secret --work-dir --slots --host-name --shutdown-timeout --stop-grace --log-level --log-format --help" ;;
      *) words="--profile --help" ;;
    esac
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _orch orch
`

const zshCompletion = `#compdef orch
# zsh completion for orch: it uses the bash completion through bashcompinit.
autoload -U +X bashcompinit && bashcompinit
` + bashCompletion

func completion(args []string, stdout io.Writer) error {
	if len(args) == 1 {
		switch args[0] {
		case "bash":
			_, err := io.WriteString(stdout, bashCompletion)
			return err
		case "zsh":
			_, err := io.WriteString(stdout, zshCompletion)
			return err
		case "-h", "--help", "help":
			_, err := io.WriteString(stdout, completionHelp)
			return err
		}
	}
	return usageError{fmt.Sprintf("completion: give bash or zsh, got %q (run `orch completion --help`)", args)}
}
