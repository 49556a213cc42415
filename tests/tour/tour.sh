#!/usr/bin/env bash
# The scripted tour: the first hour of a new user, played on the real workbench
# under Xvfb with xdotool. Each step saves a screenshot and checks something
# real (the window's title, a file written, a run's status).
#
#   bash tests/tour/tour.sh DISTILLERY [OUT_DIR]     screenshots and a log in OUT_DIR
#   bash tests/tour/tour.sh DISTILLERY --docs        regenerates docs/TOUR.md and docs/tour/*.png
#
# Needs Debian's xvfb, xdotool and imagemagick; without them it says so and
# exits 77 (CTest's SKIP_RETURN_CODE). Every wait is on a real condition with
# a timeout.
set -u

app=${1:?usage: tour.sh DISTILLERY [OUT_DIR | --docs]}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
docs=0
out=${2:-$PWD/tour}
if [ "$out" = "--docs" ]; then docs=1; out="$repo/docs/tour"; fi
app="$(cd "$(dirname "$app")" && pwd)/$(basename "$app")"

for tool in Xvfb xdotool import python3 $([ "$docs" = 1 ] && echo convert); do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool is not installed (apt-get install xvfb xdotool imagemagick python3)"
    exit 77
  fi
done
[ -x "$app" ] || { echo "FAIL: $app is not an executable"; exit 1; }

tmp="$(mktemp -d)"
ws="$tmp/workspace"
mkdir -p "$out" "$tmp/home" "$tmp/bin" "$ws"
rm -f "$out"/*.png
log="$out/tour.log"
[ "$docs" = 1 ] && log="$tmp/tour.log" # the docs get the pictures only
: >"$log"
captions=()
xpid=""; apid=""

cleanup() {
  [ -n "$apid" ] && kill "$apid" 2>/dev/null
  [ -n "$xpid" ] && kill "$xpid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

say() { echo "tour: $*" | tee -a "$log"; }
fail() { say "FAIL: $*"; import -display "$DISPLAY" -window root "$out/failure.png" 2>/dev/null; exit 1; }

# wait_for SECONDS WHAT COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local seconds=$1 what=$2; shift 2
  local end=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$end" ] && fail "waited ${seconds}s for $what"
    kill -0 "$apid" 2>/dev/null || fail "the workbench exited while waiting for $what"
    sleep 0.2
  done
}

# shot NAME CAPTION: the screen as a PNG, and its line in docs/TOUR.md.
shot() {
  sleep 0.7 # let the last repaint land
  import -display "$DISPLAY" -window root "$out/$1.png" || fail "screenshot $1"
  if [ "$docs" = 1 ]; then
    # 64 colours without dithering: a flat UI stays sharp at a tenth of the size.
    convert "$out/$1.png" +dither -colors 64 -strip "PNG8:$out/$1.png"
  fi
  captions+=("$1|$2")
  say "screenshot $1: $2"
}

# The first line of the input; fails when there is none.
first_id() { local id; id=$(head -1); [ -n "$id" ] && echo "$id"; }
main_window() { xdotool search --onlyvisible --name ' – Distillery$' | first_id; }
title() { xdotool getwindowname "$(main_window)"; }
title_is() { [ "$(title)" = "$1" ]; }
window_named() { xdotool search --onlyvisible --name "^$1\$" | first_id; }
# Keys to the window named $1 (the main window when empty).
keys() {
  local target=$1; shift
  local id
  if [ -z "$target" ]; then id=$(main_window); else id=$(window_named "$target"); fi
  [ -n "$id" ] || fail "no window named '${target:-main}' for keys $*"
  xdotool windowfocus --sync "$id" 2>/dev/null || xdotool windowfocus "$id"
  for k in "$@"; do
    case "$k" in
      type:*) xdotool type --delay 40 "${k#type:}" ;;
      *) xdotool key --clearmodifiers "$k" ;;
    esac
    sleep 0.25
  done
}
run_dirs() { ls -d "$ws"/runs/*/ 2>/dev/null | sort; }
run_count_is() { [ "$(run_dirs | wc -l)" -eq "$1" ]; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
status_is() { [ -f "$1/summary.json" ] && [ "$(json "$1/summary.json" 'd["status"]')" = "$2" ]; }
lines() { wc -l <"$1/metrics.jsonl" 2>/dev/null || echo 0; }
more_lines() { [ "$(lines "$1")" -gt "$2" ]; }

# The experiment of the tour: the shape of the default one (a convolutional
# teacher, an MLP student, KD with a baseline) on synthetic images, so a run
# takes seconds on two cores rather than minutes. The teacher trains long
# enough (some 15 s on an idle machine) for the run to be paused mid-way
# after the screenshot of it training.
cat >"$tmp/tour-demo.json" <<'EOF'
{
  "version": 1,
  "name": "tour-demo",
  "seed": 1,
  "device": "cpu",
  "log_every_steps": 5,
  "data": { "source": "synthetic-images", "synthetic_train": 3000, "synthetic_test": 600,
            "synthetic_classes": 4, "synthetic_features": 16 },
  "teacher": {
    "model": { "preset": "cnn-small" },
    "train": { "epochs": 16, "batch_size": 64, "optimizer": "adam", "lr": 0.002, "weight_decay": 0 }
  },
  "student": {
    "model": { "preset": "mlp", "hidden": [32] },
    "train": { "epochs": 6, "batch_size": 64, "lr": 0.05 }
  },
  "baseline": true,
  "distillation": { "method": "kd", "temperature": 4, "alpha": 0.5 }
}
EOF
# An experiment with a mistake in it: α must be within [0, 1].
sed 's/"alpha": 0.5/"alpha": 1.5/; s/"tour-demo"/"tour-broken"/' "$tmp/tour-demo.json" >"$tmp/tour-broken.json"
# The desktop's file opener, as Qt calls it: it notes what it was asked to open.
cat >"$tmp/bin/xdg-open" <<EOF
#!/bin/sh
echo "\$1" >>"$tmp/opened.txt"
EOF
chmod +x "$tmp/bin/xdg-open"

# A private X server as large as a laptop's screen, and settings of our own.
for n in $(seq 90 140); do
  [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] || { display=":$n"; break; }
done
export DISPLAY=$display
Xvfb "$DISPLAY" -screen 0 1366x768x24 -nolisten tcp >>"$log" 2>&1 &
xpid=$!
end=$((SECONDS + 20))
until xdotool getdisplaygeometry >/dev/null 2>&1; do
  [ "$SECONDS" -ge "$end" ] && fail "Xvfb did not start on $DISPLAY"
  sleep 0.2
done
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" XDG_DATA_HOME="$tmp/home/.local/share"
export PATH="$tmp/bin:$PATH" QT_QPA_PLATFORM=xcb
unset XDG_CURRENT_DESKTOP DESKTOP_SESSION

say "1. open the workbench with its default experiment"
"$app" --workspace "$ws" >>"$log" 2>&1 &
apid=$!
wait_for 60 "the main window" main_window
wait_for 10 "the default experiment in the title" title_is "fashion-mnist-few-labels – Distillery"
sleep 3 # the data set's samples load in the background
shot 01-default "The window as it opens (titled \"fashion-mnist-few-labels – Distillery\"; Xvfb draws no title bar): data, teacher, student and KD at T = 6, α = 0.9 in view without scrolling; the plots and the Runs panel say what to do."

say "2. open the tour's small experiment (File ▸ Open, Ctrl+O)"
keys "" ctrl+o
wait_for 20 "the Open dialog" window_named "Open experiment"
keys "Open experiment" ctrl+a "type:$tmp/tour-demo.json" Return
wait_for 20 "tour-demo in the title" title_is "tour-demo – Distillery"
shot 02-opened "The tour's experiment, opened with Ctrl+O: synthetic images, so each run takes seconds. The title names it."

say "3. change T and α from the keyboard (Alt+T, Alt+W)"
keys "" alt+t ctrl+a "type:3" Tab alt+w ctrl+a "type:0.7" Tab
wait_for 10 "the modified marker" title_is "tour-demo* – Distillery"
shot 03-knobs "T = 3 and α = 0.7, typed after Alt+T and Alt+W; the title becomes \"tour-demo* – Distillery\", marked as changed."

say "4. start (Ctrl+R)"
keys "" ctrl+r
wait_for 60 "a run folder" run_count_is 1
first=$(run_dirs | head -1)
wait_for 30 "the run's config.json" test -s "$first/config.json"
[ "$(json "$first/config.json" 'd["distillation"]["temperature"]')" = "3.0" ] || fail "the run's T is not 3"
[ "$(json "$first/config.json" 'd["distillation"]["alpha"]')" = "0.7" ] || fail "the run's α is not 0.7"
wait_for 60 "the first metrics" more_lines "$first" 3
shot 04-training "Training: the teacher's curves arrive live, one colour per stage; the run is listed below, its config.json holds T = 3 and α = 0.7."

say "5. pause (Ctrl+P)"
keys "" ctrl+p
sleep 1.5
held=$(lines "$first")
sleep 2
[ "$(lines "$first")" -eq "$held" ] || fail "metrics.jsonl grew while paused"
status_is "$first" finished && fail "the run finished before it could be paused: make it longer"
shot 05-paused "Paused with Ctrl+P: the status bar says so, and metrics.jsonl stops growing."

say "6. resume (Ctrl+P) and watch the run finish"
keys "" ctrl+p
wait_for 20 "new metrics after resuming" more_lines "$first" "$held"
wait_for 300 "the run to finish" status_is "$first" finished
sleep 1.5
shot 06-finished "Finished: teacher, baseline and distilled student, each in its colour; the learning rates on a log axis; the Runs panel has the test accuracies and the gain from distillation."

say "7. a second run at T = 8, then compare the two (Ctrl+2, Ctrl+A)"
keys "" alt+t ctrl+a "type:8" Tab ctrl+r
wait_for 60 "a second run folder" run_count_is 2
second=$(run_dirs | grep -v "^$first\$" | head -1)
wait_for 300 "the second run to finish" status_is "$second" finished
sleep 1.5
keys "" ctrl+2 ctrl+a
sleep 1
keys "" ctrl+shift+c
wait_for 20 "the Save comparison dialog" window_named "Save comparison"
keys "Save comparison" ctrl+a "type:$tmp/comparison.csv" Return
wait_for 20 "comparison.csv" test -s "$tmp/comparison.csv"
python3 - "$tmp/comparison.csv" <<'EOF' || fail "comparison.csv does not compare the two runs"
import csv, sys
rows = {r[0]: r[1:] for r in csv.reader(open(sys.argv[1]))}
assert len(rows[""]) == 2, rows[""]
assert sorted(rows["T"]) == ["3", "8"], rows["T"]
EOF
shot 07-compare "Two runs compared: one colour per run (the key is beside each name in the Runs panel), the stage as the line style; the table compares them side by side and was saved as CSV with Ctrl+Shift+C."

say "8. export the first run's student and open its folder"
keys "" ctrl+2 Down Up
keys "" ctrl+e
wait_for 20 "the Export dialog" window_named "Export model"
keys "Export model" alt+e
exported() { ls "$ws"/runs/*/export/student-model-card.md 2>/dev/null | first_id; }
wait_for 120 "the exported model card" exported
folder=$(dirname "$(exported)")
wait_for 30 "the ONNX file" test -s "$folder/student.onnx"
sleep 1
keys "Export model" alt+o
wait_for 20 "the file manager to be asked" test -s "$tmp/opened.txt"
grep -q "$folder" "$tmp/opened.txt" || fail "opened $(cat "$tmp/opened.txt"), not the export folder $folder"
shot 08-export "Ctrl+E exports the student (TorchScript, ONNX, safetensors, a model card), each file loaded back and checked; Open folder hands the folder to the desktop's file manager."
keys "Export model" Escape

say "9. open an experiment with a mistake in it"
before=$(title)
keys "" ctrl+o
wait_for 20 "the Open dialog" window_named "Open experiment"
keys "Open experiment" ctrl+a "type:$tmp/tour-broken.json" Return
wait_for 20 "the explanation" window_named "Cannot open experiment"
title_is "$before" || fail "the title changed from $before to $(title)"
shot 09-error "An experiment with α = 1.5 is refused with the field named and what to do; the experiment shown is unchanged."
keys "Cannot open experiment" Return

say "10. quit (Ctrl+Q)"
keys "" ctrl+q
end=$((SECONDS + 30))
while kill -0 "$apid" 2>/dev/null; do
  [ "$SECONDS" -ge "$end" ] && fail "the workbench did not quit"
  sleep 0.2
done
wait "$apid"; rc=$?
apid=""
[ "$rc" -eq 0 ] || fail "the workbench exited with $rc"

if [ "$docs" = 1 ]; then
  {
    echo "# A tour of the workbench"
    echo
    echo "The first hour of a new user, played by \`tests/tour/tour.sh\` on the real"
    echo "application under Xvfb (1366×768) with xdotool. Each step checks something"
    echo "real before its screenshot: the window's title, the files a run writes, a run's"
    echo "status. Regenerate this page and its screenshots with"
    echo
    echo '```sh'
    echo 'bash tests/tour/tour.sh build/app/distillery --docs'
    echo '```'
    echo
    echo "CTest runs the same tour (\`tour\`), with its screenshots in the build folder."
    for c in "${captions[@]}"; do
      echo
      echo "**${c%%|*}.** ${c#*|}"
      echo
      echo "![${c%%|*}](tour/${c%%|*}.png)"
    done
  } >"$repo/docs/TOUR.md"
  say "wrote docs/TOUR.md"
fi
say "PASS: ${#captions[@]} steps"
