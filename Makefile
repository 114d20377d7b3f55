# The README's commands, for those who prefer make. All the logic lives in ./dev.
.PHONY: setup test demo bench lock
setup:
	sh dev setup
test:
	sh dev test
demo:
	sh dev demo --no-serve
bench:
	sh dev bench
# Re-pin every dependency after changing pyproject.toml.
lock:
	.venv/bin/python -m pip freeze --exclude-editable | grep -v '^cogov' > constraints.txt
