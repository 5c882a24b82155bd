build-exp/src/service.o: src/service.c src/service.h src/log.h src/util.h
src/service.h:
src/log.h:
src/util.h:
