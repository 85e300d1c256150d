#!/bin/bash
# A minimal stand-in for `claude -p … --output-format stream-json --verbose`, for benchmarks.
# Records when it started (bash's $EPOCHREALTIME: no fork), prints the init and result
# events the runner parses, then optionally sleeps as ONE process (exec), so 1,000 of them
# are 1,000 small `sleep` processes and not 1,000 Node processes.
#   STANDIN_LOG    append "<epoch seconds.micro> <pid> <cwd>" here on start
#   STANDIN_SLEEP  seconds to stay alive after printing the result (default 0)
case "$1" in --version) echo "2.1.197 (Claude Code)"; exit 0 ;; auth) echo '{"loggedIn":true,"authMethod":"api_key"}'; exit 0 ;; esac
[ -n "$STANDIN_LOG" ] && echo "$EPOCHREALTIME $$ $PWD" >> "$STANDIN_LOG"
printf -v sid '00000000-0000-4000-8000-00000000%04x' $(($$ % 65536)) # -v: no subshell, no fork
echo '{"type":"system","subtype":"init","session_id":"'$sid'","model":"stand-in","tools":[],"cwd":"'"$PWD"'"}'
echo '{"type":"result","subtype":"success","is_error":false,"result":"ok","session_id":"'$sid'","total_cost_usd":0,"num_turns":1,"duration_ms":0,"usage":{"input_tokens":1,"output_tokens":1,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}'
[ -n "$STANDIN_SLEEP" ] && exec sleep "$STANDIN_SLEEP"
exit 0
