# bash completion for reconciler. The words come from the binary itself
# (`reconciler __complete WORD...`), so they always match the installed version.
_reconciler() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  local words
  words=$(reconciler __complete "${COMP_WORDS[@]:1:COMP_CWORD-1}" 2>/dev/null) || return
  if [[ -z "$words" ]]; then
    compopt -o default 2>/dev/null  # a flag's value or a stack directory: files
    COMPREPLY=()
    return
  fi
  mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
  [[ ${#COMPREPLY[@]} -eq 0 ]] && compopt -o default 2>/dev/null
}
complete -F _reconciler reconciler
