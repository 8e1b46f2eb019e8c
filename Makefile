# The two commands of the README:  make demo   and   make test
BUILD ?= build
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 30
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

DIGITS_DATA ?= ../shared/data/digits/train

.PHONY: deps configure build test demo bench clean train-digits digits-kfold

deps:
	./scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600
	./scripts/fuzz-briefly.sh $(FUZZ_SECONDS)

# The demo needs only the meterhub binary, not the ~300 test and benchmark targets.
demo: configure
	cmake --build $(BUILD) -j $(JOBS) --target meterhub
	./$(BUILD)/src/app/meterhub demo $(DEMO_ARGS)

bench: build
	./bench/run.sh $(BUILD)

# Retrains the digit model from the training crops (PyTorch on the CPU, a few minutes; needs
# python3-torch and python3-opencv, which nothing else needs): see src/water/vision/model/README.md.
# The digit reader's two models: the network (PyTorch, about 7 CPU-minutes) and the SVM (about 15 s).
train-digits: configure
	cmake --build $(BUILD) -j $(JOBS) --target mh_eval_digits mh_train_digits
	./$(BUILD)/src/water/vision/mh_eval_digits --list-split $(DIGITS_DATA) > $(BUILD)/digits_split.txt
	/usr/bin/python3 src/water/vision/train/train_digits.py --split $(BUILD)/digits_split.txt \
	    --out src/water/vision/model/digits_cnn.onnx --reference src/water/vision/model/digits_cnn_reference.txt
	./$(BUILD)/src/water/vision/mh_train_digits --data $(DIGITS_DATA) --out src/water/vision/model/digits_model_svm.yml

# The 5-fold validation by meter that chose the reader (model/README.md): both models' out-of-fold
# probabilities and the blends, on the training crops only. About 40 CPU-minutes.
KFOLD = $(BUILD)/digits_kfold
digits-kfold: configure
	cmake --build $(BUILD) -j $(JOBS) --target mh_eval_digits mh_train_digits
	mkdir -p $(KFOLD)
	./$(BUILD)/src/water/vision/mh_eval_digits --list-split $(DIGITS_DATA) > $(BUILD)/digits_split.txt
	/usr/bin/python3 src/water/vision/train/train_digits.py --split $(BUILD)/digits_split.txt --folds 5 \
	    --write-folds $(KFOLD)/folds.txt
	for k in 0 1 2 3 4; do ./$(BUILD)/src/water/vision/mh_train_digits --data $(DIGITS_DATA) \
	    --fold-file $(KFOLD)/folds.txt --fold $$k > $(KFOLD)/svm_f$$k.out || exit 1; done
	/usr/bin/python3 src/water/vision/train/train_digits.py --split $(BUILD)/digits_split.txt --folds 5 --oof $(KFOLD)/cnn
	/usr/bin/python3 src/water/vision/train/train_digits.py --report-folds $(KFOLD)/cnn --svm $(KFOLD)/svm_f*.out

clean:
	rm -rf $(BUILD)
